"""The printable quote: one clean HTML page, server-rendered, in French (as organisations read it).

Nothing is fetched from the network (no script, no web font, no external stylesheet or image: the
response's Content-Security-Policy forbids them). Every string that came from a client or from
membership's events (names, communes, descriptions, ids) is escaped. Amounts are the quote's own
integer cents, shown in euros; a draft shows its price without the member discount, which is
decided when the quote is sent.
"""
from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from fastapi.responses import HTMLResponse

from contracts.procurement.quotes import QuoteStatus
from services.procurement.domain.quotes import OFFER_LABELS, OFFER_RANGES, Pricing, Quote, euros

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
ISSUER = "CRESS Île-de-France — Prom'ESS Europe"

STYLE = """
@page { size: A4 portrait; margin: 16mm 14mm; }
* { box-sizing: border-box; }
body { margin: 0; font-family: Arial, "Helvetica Neue", Helvetica, sans-serif; font-size: 11pt; color: #000;
       background: #fff; }
main { max-width: 182mm; margin: 0 auto; }
header { display: flex; justify-content: space-between; border-bottom: 2px solid #000; padding-bottom: 3mm;
         margin-bottom: 6mm; }
h1 { font-size: 18pt; margin: 0; }
.issuer { font-weight: bold; }
.meta { text-align: right; }
.meta p, .client p { margin: 0.5mm 0; }
.client { border: 1px solid #000; padding: 3mm; margin: 0 0 6mm auto; width: 90mm; }
table { width: 100%; border-collapse: collapse; margin-top: 4mm; }
th, td { border: 1px solid #000; padding: 2.5mm 2mm; text-align: left; vertical-align: top; }
th { background: #e6e6e6; }
td.amount, th.amount { text-align: right; white-space: nowrap; width: 38mm; }
tr.total td { font-weight: bold; }
.note { font-size: 9.5pt; margin-top: 4mm; }
.status { display: inline-block; border: 2px solid #000; padding: 1mm 3mm; font-weight: bold; margin-top: 2mm; }
footer { margin-top: 10mm; font-size: 9pt; color: #333; border-top: 1px solid #999; padding-top: 2mm; }
.signature { margin-top: 10mm; display: flex; justify-content: space-between; }
.signature div { width: 80mm; height: 28mm; border: 1px dashed #666; padding: 2mm; font-size: 9pt; }
@media screen { body { background: #ddd; } main { background: #fff; padding: 12mm; margin: 6mm auto;
                box-shadow: 0 0 2mm #999; } }
@media print { th { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
"""

STATUS_LABELS = {
    QuoteStatus.DRAFT: "Projet — non envoyé",
    QuoteStatus.SENT: "Envoyé",
    QuoteStatus.ACCEPTED: "Accepté",
    QuoteStatus.DECLINED: "Refusé",
    QuoteStatus.EXPIRED: "Expiré",
}
MEMBER_STATUS_LABELS = {"active": "adhérente", "grace_period": "adhérente (cotisation en délai de grâce)",
                        "lapsed": "adhésion échue", "withdrawn": "adhésion retirée"}


def _day(d: date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else "—"


def _rate(bp: int) -> str:
    whole, rest = divmod(bp, 100)
    return f"{whole}" + (f",{rest:02d}".rstrip("0") if rest else "") + "\u00a0%"


def _e(value: Any) -> str:
    return escape(str(value)) if value is not None else "—"


def render(quote: Quote, organisation: dict[str, Any] | None, *, vat_rate_bp: int) -> str:
    """The quote as a complete HTML document."""
    pricing = quote.pricing or Pricing.compute(quote.amount_cents, member_discount=False, vat_rate_bp=vat_rate_bp)
    org = organisation or {}
    low, high = OFFER_RANGES[quote.offer]
    rows = [f"<tr><td><strong>{escape(OFFER_LABELS[quote.offer])}</strong>"
            + (f"<br>{escape(quote.description)}" if quote.description else "")
            + f'</td><td class="amount">{euros(pricing.amount_cents)}</td></tr>']
    if pricing.discount_applied:
        rows.append(f"<tr><td>Remise adhérent ({_rate(pricing.discount_rate_bp)})</td>"
                    f'<td class="amount">−{euros(pricing.discount_cents)}</td></tr>')
    rows += [f'<tr><td>Total net HT</td><td class="amount">{euros(pricing.net_cents)}</td></tr>',
             f'<tr><td>TVA ({_rate(pricing.vat_rate_bp)})</td><td class="amount">{euros(pricing.vat_cents)}</td></tr>',
             f'<tr class="total"><td>Total TTC</td><td class="amount">{euros(pricing.total_incl_vat_cents)}</td></tr>']
    if quote.standing is not None:
        s = quote.standing
        label = MEMBER_STATUS_LABELS.get(s.status or "", "non adhérente")
        if pricing.discount_applied:
            standing = (f"Remise adhérent de {_rate(pricing.discount_rate_bp)} appliquée : la structure était "
                        f"adhérente à jour de sa cotisation le {_day(s.checked_on)}, date du devis.")
        else:
            standing = (f"Sans remise adhérent : le {_day(s.checked_on)}, date du devis, la structure n'était pas "
                        f"adhérente à jour de sa cotisation ({escape(label)}).")
    else:
        standing = ("La remise adhérent (20 %) éventuelle est déterminée à l'envoi du devis, selon l'adhésion de "
                    "la structure à cette date.")
    outcome = {QuoteStatus.ACCEPTED: f"Accepté le {_day(quote.accepted_on)}",
               QuoteStatus.DECLINED: "Refusé", QuoteStatus.EXPIRED: f"Expiré (valable jusqu'au {_day(quote.valid_until)})",
               QuoteStatus.DRAFT: "Projet — non envoyé"}.get(quote.status)
    client = "".join(f"<p>{line}</p>" for line in (
        f"<strong>{_e(org.get('name', quote.organisation_id))}</strong>",
        f"SIRET {_e(org.get('siret'))}",
        f"{_e(org.get('commune'))} ({_e(org.get('departement'))})",
    ))
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">'
        f"<title>Devis {escape(quote.id)}</title><style>{STYLE}</style></head><body><main>"
        f'<header><div><p class="issuer">{escape(ISSUER)}</p><h1>Devis</h1></div>'
        f'<div class="meta"><p>N° <strong>{escape(quote.id)}</strong></p>'
        f"<p>Date du devis : {_day(quote.quoted_on)}</p><p>Valable jusqu'au : {_day(quote.valid_until)}</p>"
        + (f'<p class="status">{escape(outcome)}</p>' if outcome else "")
        + f'</div></header><section class="client">{client}</section>'
        f'<table><thead><tr><th>Désignation</th><th class="amount">Montant</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<p class="note">{standing}</p>'
        f'<p class="note">Montants en euros. Prix hors taxes de l\'offre : de {euros(low)} à {euros(high)}. '
        f"Chaque montant est arrondi au centime (au demi-centime supérieur), les totaux en sont la somme.</p>"
        '<div class="signature"><div>Pour la CRESS</div><div>Bon pour accord — date, nom et signature</div></div>'
        f"<footer>{escape(ISSUER)} · devis {escape(quote.id)} · {escape(STATUS_LABELS[quote.status])}</footer>"
        "</main></body></html>")


def page_response(quote: Quote, organisation: dict[str, Any] | None, *, vat_rate_bp: int) -> HTMLResponse:
    return HTMLResponse(render(quote, organisation, vat_rate_bp=vat_rate_bp), headers={
        "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="devis-{quote.id}.html"', "Cache-Control": "no-store"})
