"""IPL listing assistant: photos -> attributes -> style retrieval -> generation -> verification.

The seed paper is IPL (Xianyu, "Intelligent Product Listing"); in-context style references
follow ModICT (arXiv 2402.13587). See docs/listing.md.
"""

from shopml.listing.claims import Claim, check_claims, extract_claims
from shopml.listing.facts import FormError, SellerForm, build_facts
from shopml.listing.pipeline import Draft, draft_listing

__all__ = [
    "Claim",
    "Draft",
    "FormError",
    "SellerForm",
    "build_facts",
    "check_claims",
    "draft_listing",
    "extract_claims",
]
