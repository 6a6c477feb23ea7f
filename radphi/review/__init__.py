"""Human review of model outputs: blinded studies, their tamper-evident store, the
dashboard's statistics and `radphi review`. See `radphi.review.model` for the records
and `radphi.review.store` for the store.

    from radphi.review import ErrorCategory, ErrorCount, ReviewDraft, ReviewStore
"""

from radphi.review.model import (
    MAX_COUNT,
    ROLES,
    Case,
    CaseReview,
    ErrorCategory,
    ErrorCount,
    Item,
    NotYourReview,
    Review,
    ReviewDraft,
    ReviewError,
    ReviewSet,
    Taxonomy,
)
from radphi.review.store import ImportSummary, ReviewStore

__all__ = ["MAX_COUNT", "ROLES", "Case", "CaseReview", "ErrorCategory", "ErrorCount", "ImportSummary", "Item",
           "NotYourReview", "Review", "ReviewDraft", "ReviewError", "ReviewSet", "ReviewStore", "Taxonomy"]
