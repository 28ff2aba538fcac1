/** A minimal YARA rule named `name`, whose condition is `body`: what test indicators carry. */
export const rule = (name: string, body = 'true') => `rule ${name} {\n  condition:\n    ${body}\n}`;
