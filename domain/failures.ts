/**
 * Failure types shared by activities (which raise them) and the workflow (which reacts).
 * Dependency-free: workflow code imports this module.
 */

/** VirusTotal rejected the rules text (400): permanent for this version of the pattern. */
export const INVALID_RULE = 'InvalidRule';
