"""The vocabulary the procurement events share: sectors (filières), supplier kinds and labels,
buyer kinds, amount bands, reserved-contract articles, programmes."""
from __future__ import annotations

from enum import StrEnum

__all__ = ["Sector", "SupplierKind", "SupplierLabel", "BuyerKind", "AmountBand", "AMOUNT_BANDS",
           "ReservedArticle", "Programme", "PUBLIC_BUYER_KINDS", "LOCAL_AUTHORITY_KINDS"]


class Sector(StrEnum):
    """Sectors (filières) suppliers work in and needs ask for."""

    SUSTAINABLE_CONSTRUCTION = "sustainable_construction"
    """Bâtiment durable, réemploi de matériaux, rénovation."""
    LOGISTICS = "logistics"
    """Logistique, livraison du dernier kilomètre, déménagement."""
    FOOD = "food"
    """Alimentation durable, restauration collective, traiteur."""
    CIRCULAR_ECONOMY = "circular_economy"
    """Économie circulaire: collecte, tri, réemploi, recyclage."""
    CLEANING = "cleaning"
    """Propreté, nettoyage de locaux."""
    GREEN_SPACES = "green_spaces"
    """Espaces verts, paysage, agriculture urbaine."""
    TEXTILE = "textile"
    """Textile, couture, blanchisserie."""
    DIGITAL = "digital"
    """Numérique, informatique, reconditionnement de matériel."""
    PRINTING = "printing"
    """Impression, reprographie, communication."""
    EVENTS = "events"
    """Événementiel, accueil, location de matériel."""
    MOBILITY = "mobility"
    """Mobilité, transport de personnes, vélos."""
    OFFICE_SERVICES = "office_services"
    """Services administratifs, mise sous pli, numérisation."""
    TRAINING = "training"
    """Formation, conseil."""
    PERSONAL_SERVICES = "personal_services"
    """Services à la personne, médico-social."""


class SupplierKind(StrEnum):
    """Insertion (SIAE) and disability kinds of a supplier, and the ESS families beyond them."""

    EI = "ei"
    """Entreprise d'insertion."""
    AI = "ai"
    """Association intermédiaire."""
    ACI = "aci"
    """Atelier et chantier d'insertion."""
    ETTI = "etti"
    """Entreprise de travail temporaire d'insertion."""
    EITI = "eiti"
    """Entreprise d'insertion par le travail indépendant."""
    GEIQ = "geiq"
    """Groupement d'employeurs pour l'insertion et la qualification."""
    EA = "ea"
    """Entreprise adaptée."""
    ESAT = "esat"
    """Établissement et service d'aide par le travail."""
    ESS = "ess"
    """Another ESS enterprise (association, cooperative, mutual, foundation, ESS commercial company)."""


class SupplierLabel(StrEnum):
    """Labels and agreements a supplier holds."""

    ESUS = "esus"
    """Agrément « entreprise solidaire d'utilité sociale »."""
    RGE = "rge"
    """Reconnu garant de l'environnement."""
    ECOCERT = "ecocert"
    LUCIE = "lucie"
    """Label RSE Lucie."""
    B_CORP = "b_corp"
    QUALIOPI = "qualiopi"
    """Certification of training providers."""


class BuyerKind(StrEnum):
    """Who buys: local authorities, other public buyers, private companies."""

    COMMUNE = "commune"
    EPT = "ept"
    """Établissement public territorial (Grand Paris)."""
    EPCI = "epci"
    """Intercommunalité (établissement public de coopération intercommunale)."""
    DEPARTEMENT = "departement"
    REGION = "region"
    OTHER_PUBLIC = "other_public"
    """Another public buyer: hospital, social landlord, State service, public institution."""
    PRIVATE_COMPANY = "private_company"


LOCAL_AUTHORITY_KINDS = frozenset({BuyerKind.COMMUNE, BuyerKind.EPT, BuyerKind.EPCI, BuyerKind.DEPARTEMENT,
                                   BuyerKind.REGION})
PUBLIC_BUYER_KINDS = LOCAL_AUTHORITY_KINDS | {BuyerKind.OTHER_PUBLIC}


class AmountBand(StrEnum):
    """Amount bands of a need, when the exact amount is not given (euros, excluding VAT)."""

    UNDER_5K = "under_5k"
    FROM_5K_TO_10K = "5k_10k"
    FROM_10K_TO_15K = "10k_15k"
    FROM_15K_TO_20K = "15k_20k"
    FROM_20K_TO_30K = "20k_30k"
    FROM_30K_TO_40K = "30k_40k"
    FROM_40K_TO_50K = "40k_50k"
    FROM_50K_TO_100K = "50k_100k"
    FROM_100K_TO_150K = "100k_150k"
    FROM_150K_TO_250K = "150k_250k"
    FROM_250K_TO_500K = "250k_500k"
    FROM_500K_TO_750K = "500k_750k"
    FROM_750K_TO_1M = "750k_1m"
    OVER_1M = "over_1m"


AMOUNT_BANDS: dict[AmountBand, tuple[int, int | None]] = {
    AmountBand.UNDER_5K: (0, 500_000),
    AmountBand.FROM_5K_TO_10K: (500_000, 1_000_000),
    AmountBand.FROM_10K_TO_15K: (1_000_000, 1_500_000),
    AmountBand.FROM_15K_TO_20K: (1_500_000, 2_000_000),
    AmountBand.FROM_20K_TO_30K: (2_000_000, 3_000_000),
    AmountBand.FROM_30K_TO_40K: (3_000_000, 4_000_000),
    AmountBand.FROM_40K_TO_50K: (4_000_000, 5_000_000),
    AmountBand.FROM_50K_TO_100K: (5_000_000, 10_000_000),
    AmountBand.FROM_100K_TO_150K: (10_000_000, 15_000_000),
    AmountBand.FROM_150K_TO_250K: (15_000_000, 25_000_000),
    AmountBand.FROM_250K_TO_500K: (25_000_000, 50_000_000),
    AmountBand.FROM_500K_TO_750K: (50_000_000, 75_000_000),
    AmountBand.FROM_750K_TO_1M: (75_000_000, 100_000_000),
    AmountBand.OVER_1M: (100_000_000, None),
}
"""Each band's bounds in euro cents: lower bound included, upper bound excluded (None: no bound)."""


class ReservedArticle(StrEnum):
    """The article of the Code de la commande publique a reserved contract cites."""

    L2113_12 = "l2113_12"
    """Reserved to entreprises adaptées, ESAT and equivalents (disabled workers, ≥ 50 %)."""
    L2113_13 = "l2113_13"
    """Reserved to SIAE (insertion) and equivalents (disadvantaged workers)."""
    L2113_15 = "l2113_15"
    """Social and specific services, reserved to ESS enterprises with a public-service mission."""


class Programme(StrEnum):
    """The business-development team's programmes."""

    PAMS = "pams"
    """Public buyers: Measure → Train → Act."""
    OSER = "oser"
    """Private companies: diagnostic → awareness → sourcing and meetings → lasting partnership → impact."""
    PROMESS = "promess"
    """Prom'ESS Europe: European funds for ESS organisations."""
