"""Which sectors (filières) a buyer's spend category belongs to: a keyword table.

A buyer names its categories freely ("Nettoyage des locaux", "Famille 12 - Restauration
scolaire", "Prestations informatiques"). A category belongs to every :class:`Sector` one of
whose keywords appears in it as whole words (accents, case and punctuation ignored:
``"Entretien des espaces verts"`` → green_spaces). A category no keyword matches belongs to no
sector: it gets no eligible supplier, so no reservation is recommended for it — the report says
so rather than guessing.

Weakness, said plainly: words are not codes. A keyword table misses synonyms it does not list
("propreté urbaine" is there, "balayage" is not), cannot tell "transport de marchandises" from
a public-transport subsidy if the buyer writes only "Transport", and says nothing of a category
named by an internal code ("F12"). Buyers' nomenclatures (CPV codes, the State's purchase
nomenclature) would map exactly; this table is the first step the team can read and extend.
"""
from __future__ import annotations

from contracts.procurement.vocabulary import Sector
from services.procurement.domain.spend import plain

__all__ = ["SECTOR_KEYWORDS", "sectors_of"]

SECTOR_KEYWORDS: dict[Sector, tuple[str, ...]] = {
    Sector.SUSTAINABLE_CONSTRUCTION: ("batiment", "batiments", "btp", "construction", "travaux", "renovation",
                                      "maconnerie", "menuiserie", "peinture", "plomberie", "electricite",
                                      "second oeuvre", "gros oeuvre", "voirie", "isolation", "chantier",
                                      "entretien des batiments", "materiaux"),
    Sector.LOGISTICS: ("logistique", "livraison", "livraisons", "transport", "transports", "demenagement",
                       "manutention", "stockage", "coursier", "coursiers", "messagerie", "fret"),
    Sector.FOOD: ("alimentation", "alimentaire", "alimentaires", "restauration", "repas", "traiteur", "denrees",
                  "cantine", "boissons", "epicerie", "fruits", "legumes", "plateaux repas"),
    Sector.CIRCULAR_ECONOMY: ("dechets", "dechet", "recyclage", "reemploi", "collecte", "tri", "valorisation",
                              "economie circulaire", "ressourcerie", "recyclerie", "reparation", "compostage"),
    Sector.CLEANING: ("nettoyage", "proprete", "entretien des locaux", "menage", "hygiene", "vitrerie",
                      "desinfection"),
    Sector.GREEN_SPACES: ("espaces verts", "espace vert", "paysage", "paysager", "jardin", "jardins", "elagage",
                          "fleurissement", "tonte", "agriculture urbaine", "debroussaillage"),
    Sector.TEXTILE: ("textile", "textiles", "vetement", "vetements", "blanchisserie", "linge", "couture",
                     "uniformes", "pressing", "habillement"),
    Sector.DIGITAL: ("informatique", "informatiques", "numerique", "logiciel", "logiciels", "ordinateurs",
                     "reconditionnement", "telecom", "telecommunications", "site internet", "developpement web"),
    Sector.PRINTING: ("impression", "impressions", "imprimerie", "reprographie", "communication", "signaletique",
                      "graphisme", "edition"),
    Sector.EVENTS: ("evenementiel", "evenement", "evenements", "accueil", "location de materiel", "sonorisation",
                    "reception", "receptions", "seminaire", "seminaires"),
    Sector.MOBILITY: ("mobilite", "transport de personnes", "transport scolaire", "velo", "velos", "vehicules",
                      "navette", "navettes", "taxi"),
    Sector.OFFICE_SERVICES: ("mise sous pli", "numerisation", "archivage", "courrier", "secretariat",
                             "fournitures de bureau", "fournitures administratives", "saisie"),
    Sector.TRAINING: ("formation", "formations", "conseil", "etudes", "accompagnement", "audit"),
    Sector.PERSONAL_SERVICES: ("aide a domicile", "services a la personne", "medico social", "garde d enfants",
                               "petite enfance", "portage de repas", "aide sociale", "insertion"),
}


def sectors_of(category: str) -> tuple[Sector, ...]:
    """The sectors whose keywords appear (as whole words) in ``category``, in the table's order."""
    words = f" {plain(category)} "
    return tuple(sector for sector, keywords in SECTOR_KEYWORDS.items()
                 if any(f" {keyword} " in words for keyword in keywords))
