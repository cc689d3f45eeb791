"""The search attributes epochs publish (phase, role, status, domain…) for visibility queries.

No Django here: the workflow sandbox imports this module.
"""

from temporalio.common import SearchAttributeKey

# name → type; every namespace epochs run on needs them (`register_search_attributes`).
DEFINITIONS = {
    "AuraEpochId": "Text",
    "AuraPhase": "Keyword",
    "AuraRole": "Keyword",
    "AuraStatus": "Keyword",
    "AuraDomain": "Keyword",
    "AuraLastEventType": "Keyword",
}

SA_EPOCH_ID = SearchAttributeKey.for_text("AuraEpochId")
SA_PHASE = SearchAttributeKey.for_keyword("AuraPhase")
SA_ROLE = SearchAttributeKey.for_keyword("AuraRole")
SA_STATUS = SearchAttributeKey.for_keyword("AuraStatus")
SA_DOMAIN = SearchAttributeKey.for_keyword("AuraDomain")
SA_LAST_EVENT_TYPE = SearchAttributeKey.for_keyword("AuraLastEventType")
