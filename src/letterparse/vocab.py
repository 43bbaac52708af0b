"""The project's closed vocabularies, defined once.

This module imports nothing of ours, so every stage (and the store's views and
the docs test) can read the same values.
"""

from __future__ import annotations

# Document families (what the document is) and frameworks (which inspection
# framework it was written under: the unit that compares like with like).
FAMILIES = ("ucra_letter", "focused_visit", "jtai_letter", "ilacs_report", "sif_report", "monitoring_visit", "other")
FRAMEWORKS = (
    "ucra",              # annual unannounced inspection of contact, referral and assessment (2009-12)
    "jar",               # joint area review (2005-09)
    "lac",               # inspection of safeguarding and looked after children services (2009-13)
    "sif",               # single inspection framework (2013-17), incl. LSCB reviews
    "ilacs",             # inspecting local authority children's services reports (2018-)
    "focused_visit",     # ILACS focused visits (2018-)
    "monitoring_visit",  # monitoring visits after an inadequate judgement
    "jtai",              # joint targeted area inspections (2016-)
    "area_send",         # area SEND inspections (not children's social care)
    "other",
)

# The codebook's themes (../shared/CODEBOOK.md), in the model's order, and its version:
# a model card naming another version is refused.
THEMES = (
    "leadership_governance", "management_oversight", "quality_assurance", "assessment", "planning_review",
    "child_voice", "identity_equality", "multi_agency", "front_door", "workforce", "recording", "timeliness",
    "vulnerable_groups", "care_permanence", "health_education", "other",
)
CODEBOOK_VERSION = "1"

# Section kinds, the polarity a list section gives its findings, and section roles.
LIST_KINDS = ("strengths", "satisfactory", "improvements", "priority_actions")
KINDS = (*LIST_KINDS, "headline", "main_findings", "next_steps", "other")
POLARITY_OF_KIND = {
    "strengths": "strength",
    "satisfactory": "satisfactory",
    "improvements": "weakness",
    "priority_actions": "priority",
    "next_steps": "weakness",
}
POLARITIES = ("strength", "satisfactory", "weakness", "priority", "neutral")
# judgement: the inspectors' evaluation; context: statistics, method, team, previous
# inspections, grade definitions, summaries for children, administrative next steps.
ROLES = ("judgement", "context")

# Harmonised 4-point grades, best first, and every printed wording seen in the corpus.
GRADES = ("outstanding", "good", "requires_improvement", "inadequate")
GRADE_WORDS = {
    "outstanding": "outstanding",
    "good": "good",
    "requires improvement to be good": "requires_improvement",
    "requires improvement": "requires_improvement",
    "require improvement to be good": "requires_improvement",
    "require improvement": "requires_improvement",
    "adequate": "requires_improvement",
    "inadequate": "inadequate",
}
GRADE_KEYS = (
    "overall_effectiveness",
    "impact_of_leaders",
    "help_and_protection",
    "children_in_care",
    "care_leavers",
    "adoption_performance",
    "lscb",
)
DIRECTIONS = ("improved", "same", "declined")

# Gold splits (corpora/gold): dev and heldout were looked at while writing the rules,
# unseen was annotated afterwards and never used to tune anything.
SPLITS = ("dev", "heldout", "unseen")
