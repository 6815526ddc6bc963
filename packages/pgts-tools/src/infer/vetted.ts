// The operators and functions pgts trusts to return non-NULL, each checked against
// PostgreSQL's documentation and source for every built-in overload of the name. Anything
// not listed here (including ->, ->>, #>, #>>, nullif, subscripts, user functions and
// operators of any name a schema defines outside pg_catalog) may be NULL: the column is
// typed `| null` unless the query overrides it with "col!".

/**
 * Operators that return non-NULL whenever every operand is non-NULL: arithmetic, string and
 * array concatenation, comparison, pattern matching, containment and bit operations. Row
 * constructors compared with them must have non-NULL fields too (`(1, NULL) = (1, 2)` is
 * NULL). Not here: `#` (lseg # lseg is NULL for parallel segments), the JSON operators
 * (`->`, `->>`, `#>`, `#>>` are NULL for a missing key or path), `@@` and `@?` (jsonpath).
 */
export const NON_NULL_OPERATORS: ReadonlySet<string> = new Set([
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '|/',
  '||/',
  '@',
  '&',
  '|',
  '~',
  '<<',
  '>>',
  '||',
  '=',
  '<>',
  '!=',
  '<',
  '>',
  '<=',
  '>=',
  '~~',
  '!~~',
  '~~*',
  '!~~*',
  '~*',
  '!~',
  '!~*',
  '@>',
  '<@',
  '&&',
]);

/**
 * Functions (pg_catalog) returning text or bytea, never a range, and non-NULL whenever every
 * argument is non-NULL: `lower(trim(x))` is the lower of text.
 */
const STRICT_TEXT_FUNCTIONS = [
  'initcap',
  'btrim', // trim(...)
  'ltrim',
  'rtrim',
  'lpad',
  'rpad',
  'repeat',
  'reverse',
  'replace',
  'translate',
  'left',
  'right',
  'substr',
  'split_part',
  'chr',
  'md5',
  'quote_ident',
  'quote_literal',
  'format',
  'overlay',
  'sha224',
  'sha256',
  'sha384',
  'sha512',
  'encode',
  'decode',
  'regexp_replace',
  'similar_to_escape', // x SIMILAR TO pattern
  'like_escape', // x LIKE pattern ESCAPE e
  'array_to_string',
];

/**
 * Functions (pg_catalog) that return non-NULL whenever every argument is non-NULL. Not here:
 * `substring` (its regular-expression form is NULL when nothing matches), `array_length`,
 * `array_upper`, `array_lower` (NULL for an empty array), `array_position`, `regexp_match`,
 * `extract`, `date_part` and `to_char` (NULL for some fields of an infinite timestamp),
 * `current_setting` (NULL with missing_ok), `to_regclass` and friends. `lower` and `upper`
 * are in TEXT_ONLY_FUNCTIONS: on a range they are its bounds, NULL when it has none.
 */
export const STRICT_NON_NULL_FUNCTIONS: ReadonlySet<string> = new Set([
  ...STRICT_TEXT_FUNCTIONS,
  // text, other results (numbers, booleans, arrays)
  'length',
  'char_length',
  'character_length',
  'octet_length',
  'bit_length',
  'position',
  'strpos',
  'starts_with',
  'ascii',
  'string_to_array',
  // numbers
  'abs',
  'round',
  'floor',
  'ceil',
  'ceiling',
  'trunc',
  'sign',
  'sqrt',
  'cbrt',
  'power',
  'exp',
  'ln',
  'log',
  'log10',
  'mod',
  'div',
  'gcd',
  'lcm',
  // dates and times
  'date_trunc',
  'to_date',
  'to_timestamp',
  'to_number',
  'make_date',
  'make_time',
  'make_timestamp',
  'make_timestamptz',
  'make_interval',
  'justify_days',
  'justify_hours',
  'justify_interval',
  'isfinite',
  'timezone', // x AT TIME ZONE zone
  // arrays
  'cardinality',
  'array_append',
  'array_prepend',
  'array_cat',
  'array_remove',
  'array_replace',
  // JSON
  'to_json',
  'to_jsonb',
  'row_to_json',
  'array_to_json',
  'json_build_object',
  'jsonb_build_object',
  'json_build_array',
  'jsonb_build_array',
  'json_typeof',
  'jsonb_typeof',
  'jsonb_array_length',
  'json_array_length',
  'jsonb_strip_nulls',
  'jsonb_pretty',
  // window functions
  'ntile',
]);

/** `lower`, `upper`: non-NULL for non-NULL text (not for a range, whose bound may be missing). */
export const TEXT_ONLY_FUNCTIONS: ReadonlySet<string> = new Set(['lower', 'upper']);

/** Functions that return text (or bytea), never a range. */
export const TEXT_RESULT_FUNCTIONS: ReadonlySet<string> = new Set([
  ...STRICT_TEXT_FUNCTIONS,
  'quote_nullable',
  'concat',
  'concat_ws',
  'to_char',
]);

/** The type names of text (a cast to one of them is text). */
export const TEXT_TYPES: ReadonlySet<string> = new Set(['text', 'varchar', 'bpchar', 'name']);

/** Functions that never return NULL, whatever their arguments. */
export const ALWAYS_NON_NULL_FUNCTIONS: ReadonlySet<string> = new Set([
  'count',
  'concat', // NULL arguments are skipped
  'quote_nullable',
  'now',
  'statement_timestamp',
  'transaction_timestamp',
  'clock_timestamp',
  'timeofday',
  'random',
  'gen_random_uuid',
  'pg_backend_pid',
  'version',
  'current_database',
  'row_number',
  'rank',
  'dense_rank',
  'percent_rank',
  'cume_dist',
]);

/** concat_ws(separator, ...): NULL arguments are skipped, but a NULL separator gives NULL. */
export const FIRST_ARGUMENT_FUNCTIONS: ReadonlySet<string> = new Set(['concat_ws']);

/**
 * Aggregates that are non-NULL over a non-empty set of non-NULL inputs. A GROUP BY group is
 * never empty (without FILTER); a whole table, or a FILTER, may leave no row at all.
 */
export const NON_EMPTY_AGGREGATES: ReadonlySet<string> = new Set([
  'max',
  'min',
  'sum',
  'avg',
  'string_agg',
  'bool_and',
  'bool_or',
  'every',
  'bit_and',
  'bit_or',
  'bit_xor',
]);

/** Aggregates that are non-NULL over any non-empty set, NULL inputs included. */
export const NON_EMPTY_COLLECTING_AGGREGATES: ReadonlySet<string> = new Set([
  'array_agg',
  'json_agg',
  'jsonb_agg',
  'json_object_agg',
  'jsonb_object_agg',
]);

/** SQL value functions (CURRENT_DATE...) that may be NULL: CURRENT_SCHEMA with no valid schema. */
export const NULLABLE_VALUE_FUNCTIONS: ReadonlySet<string> = new Set(['SVFOP_CURRENT_SCHEMA']);
