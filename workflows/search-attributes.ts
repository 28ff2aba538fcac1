/**
 * Custom search attributes, so operators can find an indicator's workflow in the Web UI
 * (e.g. `LivehuntStatus = "invalid-rule"`). The worker registers them when missing.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const INDICATOR_NAME = defineSearchAttributeKey('LivehuntIndicatorName', SearchAttributeType.KEYWORD);
export const INDICATOR_ID = defineSearchAttributeKey('LivehuntIndicatorId', SearchAttributeType.KEYWORD);
export const RULESET_ID = defineSearchAttributeKey('LivehuntRulesetId', SearchAttributeType.KEYWORD);
export const STATUS = defineSearchAttributeKey('LivehuntStatus', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [INDICATOR_NAME, INDICATOR_ID, RULESET_ID, STATUS];
