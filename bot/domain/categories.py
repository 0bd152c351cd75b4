"""The arXiv category taxonomy as data, and the lookups the bot needs (names, autocomplete, codes).

Source: https://arxiv.org/category_taxonomy. Cross-listed aliases (``math.IT`` = ``cs.IT``,
``math.MP`` = ``math-ph``, ``stat.TH`` = ``math.ST``, ``eess.SY`` = ``cs.SY``, ``q-fin.EC`` =
``econ.GN``) are separate codes on arXiv and are kept as such, because papers carry either.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

ARCHIVES: Mapping[str, str] = MappingProxyType(
    {
        "astro-ph": "Astrophysics",
        "cond-mat": "Condensed Matter",
        "cs": "Computer Science",
        "econ": "Economics",
        "eess": "Electrical Engineering and Systems Science",
        "gr-qc": "General Relativity and Quantum Cosmology",
        "hep-ex": "High Energy Physics - Experiment",
        "hep-lat": "High Energy Physics - Lattice",
        "hep-ph": "High Energy Physics - Phenomenology",
        "hep-th": "High Energy Physics - Theory",
        "math": "Mathematics",
        "math-ph": "Mathematical Physics",
        "nlin": "Nonlinear Sciences",
        "nucl-ex": "Nuclear Experiment",
        "nucl-th": "Nuclear Theory",
        "physics": "Physics",
        "q-bio": "Quantitative Biology",
        "q-fin": "Quantitative Finance",
        "quant-ph": "Quantum Physics",
        "stat": "Statistics",
    }
)

# Current categories, in arXiv's own order (by archive, then code).
CATEGORIES: Mapping[str, str] = MappingProxyType(
    {
        "astro-ph.CO": "Cosmology and Nongalactic Astrophysics",
        "astro-ph.EP": "Earth and Planetary Astrophysics",
        "astro-ph.GA": "Astrophysics of Galaxies",
        "astro-ph.HE": "High Energy Astrophysical Phenomena",
        "astro-ph.IM": "Instrumentation and Methods for Astrophysics",
        "astro-ph.SR": "Solar and Stellar Astrophysics",
        "cond-mat.dis-nn": "Disordered Systems and Neural Networks",
        "cond-mat.mes-hall": "Mesoscale and Nanoscale Physics",
        "cond-mat.mtrl-sci": "Materials Science",
        "cond-mat.other": "Other Condensed Matter",
        "cond-mat.quant-gas": "Quantum Gases",
        "cond-mat.soft": "Soft Condensed Matter",
        "cond-mat.stat-mech": "Statistical Mechanics",
        "cond-mat.str-el": "Strongly Correlated Electrons",
        "cond-mat.supr-con": "Superconductivity",
        "cs.AI": "Artificial Intelligence",
        "cs.AR": "Hardware Architecture",
        "cs.CC": "Computational Complexity",
        "cs.CE": "Computational Engineering, Finance, and Science",
        "cs.CG": "Computational Geometry",
        "cs.CL": "Computation and Language",
        "cs.CR": "Cryptography and Security",
        "cs.CV": "Computer Vision and Pattern Recognition",
        "cs.CY": "Computers and Society",
        "cs.DB": "Databases",
        "cs.DC": "Distributed, Parallel, and Cluster Computing",
        "cs.DL": "Digital Libraries",
        "cs.DM": "Discrete Mathematics",
        "cs.DS": "Data Structures and Algorithms",
        "cs.ET": "Emerging Technologies",
        "cs.FL": "Formal Languages and Automata Theory",
        "cs.GL": "General Literature",
        "cs.GR": "Graphics",
        "cs.GT": "Computer Science and Game Theory",
        "cs.HC": "Human-Computer Interaction",
        "cs.IR": "Information Retrieval",
        "cs.IT": "Information Theory",
        "cs.LG": "Machine Learning",
        "cs.LO": "Logic in Computer Science",
        "cs.MA": "Multiagent Systems",
        "cs.MM": "Multimedia",
        "cs.MS": "Mathematical Software",
        "cs.NA": "Numerical Analysis",
        "cs.NE": "Neural and Evolutionary Computing",
        "cs.NI": "Networking and Internet Architecture",
        "cs.OH": "Other Computer Science",
        "cs.OS": "Operating Systems",
        "cs.PF": "Performance",
        "cs.PL": "Programming Languages",
        "cs.RO": "Robotics",
        "cs.SC": "Symbolic Computation",
        "cs.SD": "Sound",
        "cs.SE": "Software Engineering",
        "cs.SI": "Social and Information Networks",
        "cs.SY": "Systems and Control",
        "econ.EM": "Econometrics",
        "econ.GN": "General Economics",
        "econ.TH": "Theoretical Economics",
        "eess.AS": "Audio and Speech Processing",
        "eess.IV": "Image and Video Processing",
        "eess.SP": "Signal Processing",
        "eess.SY": "Systems and Control",
        "gr-qc": "General Relativity and Quantum Cosmology",
        "hep-ex": "High Energy Physics - Experiment",
        "hep-lat": "High Energy Physics - Lattice",
        "hep-ph": "High Energy Physics - Phenomenology",
        "hep-th": "High Energy Physics - Theory",
        "math.AC": "Commutative Algebra",
        "math.AG": "Algebraic Geometry",
        "math.AP": "Analysis of PDEs",
        "math.AT": "Algebraic Topology",
        "math.CA": "Classical Analysis and ODEs",
        "math.CO": "Combinatorics",
        "math.CT": "Category Theory",
        "math.CV": "Complex Variables",
        "math.DG": "Differential Geometry",
        "math.DS": "Dynamical Systems",
        "math.FA": "Functional Analysis",
        "math.GM": "General Mathematics",
        "math.GN": "General Topology",
        "math.GR": "Group Theory",
        "math.GT": "Geometric Topology",
        "math.HO": "History and Overview",
        "math.IT": "Information Theory",
        "math.KT": "K-Theory and Homology",
        "math.LO": "Logic",
        "math.MG": "Metric Geometry",
        "math.MP": "Mathematical Physics",
        "math.NA": "Numerical Analysis",
        "math.NT": "Number Theory",
        "math.OA": "Operator Algebras",
        "math.OC": "Optimization and Control",
        "math.PR": "Probability",
        "math.QA": "Quantum Algebra",
        "math.RA": "Rings and Algebras",
        "math.RT": "Representation Theory",
        "math.SG": "Symplectic Geometry",
        "math.SP": "Spectral Theory",
        "math.ST": "Statistics Theory",
        "math-ph": "Mathematical Physics",
        "nlin.AO": "Adaptation and Self-Organizing Systems",
        "nlin.CD": "Chaotic Dynamics",
        "nlin.CG": "Cellular Automata and Lattice Gases",
        "nlin.PS": "Pattern Formation and Solitons",
        "nlin.SI": "Exactly Solvable and Integrable Systems",
        "nucl-ex": "Nuclear Experiment",
        "nucl-th": "Nuclear Theory",
        "physics.acc-ph": "Accelerator Physics",
        "physics.ao-ph": "Atmospheric and Oceanic Physics",
        "physics.app-ph": "Applied Physics",
        "physics.atm-clus": "Atomic and Molecular Clusters",
        "physics.atom-ph": "Atomic Physics",
        "physics.bio-ph": "Biological Physics",
        "physics.chem-ph": "Chemical Physics",
        "physics.class-ph": "Classical Physics",
        "physics.comp-ph": "Computational Physics",
        "physics.data-an": "Data Analysis, Statistics and Probability",
        "physics.ed-ph": "Physics Education",
        "physics.flu-dyn": "Fluid Dynamics",
        "physics.gen-ph": "General Physics",
        "physics.geo-ph": "Geophysics",
        "physics.hist-ph": "History and Philosophy of Physics",
        "physics.ins-det": "Instrumentation and Detectors",
        "physics.med-ph": "Medical Physics",
        "physics.optics": "Optics",
        "physics.plasm-ph": "Plasma Physics",
        "physics.pop-ph": "Popular Physics",
        "physics.soc-ph": "Physics and Society",
        "physics.space-ph": "Space Physics",
        "q-bio.BM": "Biomolecules",
        "q-bio.CB": "Cell Behavior",
        "q-bio.GN": "Genomics",
        "q-bio.MN": "Molecular Networks",
        "q-bio.NC": "Neurons and Cognition",
        "q-bio.OT": "Other Quantitative Biology",
        "q-bio.PE": "Populations and Evolution",
        "q-bio.QM": "Quantitative Methods",
        "q-bio.SC": "Subcellular Processes",
        "q-bio.TO": "Tissues and Organs",
        "q-fin.CP": "Computational Finance",
        "q-fin.EC": "Economics",
        "q-fin.GN": "General Finance",
        "q-fin.MF": "Mathematical Finance",
        "q-fin.PM": "Portfolio Management",
        "q-fin.PR": "Pricing of Securities",
        "q-fin.RM": "Risk Management",
        "q-fin.ST": "Statistical Finance",
        "q-fin.TR": "Trading and Market Microstructure",
        "quant-ph": "Quantum Physics",
        "stat.AP": "Applications",
        "stat.CO": "Computation",
        "stat.ME": "Methodology",
        "stat.ML": "Machine Learning",
        "stat.OT": "Other Statistics",
        "stat.TH": "Statistics Theory",
    }
)

# Codes that old papers still carry (the snapshot has them) but nobody can subscribe to any more:
# pre-2009 undivided archives and archives later folded into math, nlin, physics, cond-mat and cs.
LEGACY_CATEGORIES: Mapping[str, str] = MappingProxyType(
    {
        "astro-ph": "Astrophysics",
        "cond-mat": "Condensed Matter",
        "physics": "Physics",
        "q-bio": "Quantitative Biology",
        "acc-phys": "Accelerator Physics",
        "adap-org": "Adaptation, Noise, and Self-Organizing Systems",
        "alg-geom": "Algebraic Geometry",
        "ao-sci": "Atmospheric-Oceanic Sciences",
        "atom-ph": "Atomic, Molecular and Optical Physics",
        "bayes-an": "Bayesian Analysis",
        "chao-dyn": "Chaotic Dynamics",
        "chem-ph": "Chemical Physics",
        "cmp-lg": "Computation and Language",
        "comp-gas": "Cellular Automata and Lattice Gases",
        "dg-ga": "Differential Geometry",
        "funct-an": "Functional Analysis",
        "mtrl-th": "Materials Theory",
        "patt-sol": "Pattern Formation and Solitons",
        "plasm-ph": "Plasma Physics",
        "q-alg": "Quantum Algebra and Topology",
        "solv-int": "Exactly Solvable and Integrable Systems",
        "supr-con": "Superconductivity",
    }
)

# When a bare subject code exists in several archives (NA, IT, SY, LO, GT, CO, ...), the listing
# format means the first archive here that has it; cs first because the listings are cs-heavy.
_ARCHIVE_PREFERENCE = (
    "cs",
    "math",
    "stat",
    "eess",
    "astro-ph",
    "econ",
    "q-bio",
    "q-fin",
    "nlin",
    "cond-mat",
    "physics",
)

_ALL: dict[str, str] = {**CATEGORIES, **LEGACY_CATEGORIES}
_BY_FOLDED_CODE: dict[str, str] = {code.casefold(): code for code in _ALL}


def _build_subject_index() -> dict[str, str]:
    rank = {archive: i for i, archive in enumerate(_ARCHIVE_PREFERENCE)}
    best: dict[str, tuple[int, str]] = {}
    for code in CATEGORIES:
        if "." not in code:
            continue
        archive, subject = code.split(".", 1)
        score = rank.get(archive, len(rank))
        key = subject.casefold()
        if key not in best or score < best[key][0]:
            best[key] = (score, code)
    return {subject: code for subject, (_, code) in best.items()}


_BY_SUBJECT = _build_subject_index()


def is_category(code: str) -> bool:
    """Whether ``code`` is an arXiv category, current or legacy (exact spelling, e.g. ``cs.CL``)."""
    return code in _ALL


def archive_of(code: str) -> str:
    """The archive part of a category code: ``cs.CL`` -> ``cs``, ``hep-th`` -> ``hep-th``."""
    return code.split(".", 1)[0]


def category_name(code: str) -> str | None:
    """The human name of a category (``cs.CL`` -> ``Computation and Language``), else None."""
    return _ALL.get(code)


def normalise_category(code: str) -> str | None:
    """The canonical spelling of a category code typed in any case (``CS.cl`` -> ``cs.CL``)."""
    return _BY_FOLDED_CODE.get(code.strip().casefold())


def expand_listing_code(code: str) -> str | None:
    """The full category for a listing's bare subject code (``CL`` -> ``cs.CL``), else None.

    Full codes are accepted too (``cs.CL``, ``hep-th``, any case). A subject code that exists in
    several archives resolves by a fixed preference, cs first (``NA`` -> ``cs.NA``).
    """
    code = code.strip()
    if not code:
        return None
    full = normalise_category(code)
    if full is not None:
        return full
    return _BY_SUBJECT.get(code.casefold())


def complete_category(prefix: str, limit: int = 25) -> list[tuple[str, str]]:
    """Categories matching what a user has typed so far, best first, for autocomplete.

    Case-insensitive on code or name: an exact code, then codes starting with the text, then names
    with a word starting with it, then any code or name containing it. Legacy codes are left out:
    nobody should subscribe to them.
    """
    needle = " ".join(prefix.casefold().split())
    if limit <= 0:
        return []
    if not needle:
        return list(CATEGORIES.items())[:limit]
    tiers: list[list[tuple[str, str]]] = [[], [], [], []]
    for code, name in CATEGORIES.items():
        folded_code = code.casefold()
        folded_name = name.casefold()
        if folded_code == needle:
            tiers[0].append((code, name))
        elif folded_code.startswith(needle) or folded_code.split(".", 1)[-1].startswith(needle):
            tiers[1].append((code, name))
        elif folded_name.startswith(needle) or f" {needle}" in f" {folded_name}":
            tiers[2].append((code, name))
        elif needle in folded_code or needle in folded_name:
            tiers[3].append((code, name))
    return [match for tier in tiers for match in tier][:limit]
