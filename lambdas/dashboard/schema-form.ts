/**
 * The dashboard's JSON-Schema-to-form generator, as plain data (no DOM, so it is unit-tested in
 * Node): {@link planForm} turns a task's `input_schema` (or a wait's resume schema) into fields,
 * {@link readForm} turns what was entered back into the JSON the API takes. An object of strings,
 * numbers, integers, booleans, enums and arrays of strings gets one field per property; any other
 * schema a raw JSON textarea, so every task stays startable from the page.
 */

/** What control a property gets. */
export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'string-list';

/** One property of the object, as a labelled control. */
export interface Field {
  /** The property's name, also the control's label. */
  readonly name: string;
  readonly kind: FieldKind;
  readonly required: boolean;
  readonly description?: string;
  /** `enum`: each allowed value as JSON text (so numbers and strings keep their type). */
  readonly options?: readonly string[];
  /** What the control shows first (from `default`, else the schema's first example): text, JSON text of an enum option, or checked. */
  readonly initial: string | boolean;
}

/** A form of one field per property, or the raw JSON fallback. */
export type FormPlan =
  | { readonly kind: 'fields'; readonly fields: readonly Field[] }
  | { readonly kind: 'raw'; readonly initial: string };

/** What the controls hold, by field name: text (enum: the option's JSON text, `''` for none) or a checkbox's state. */
export type FormValues = Readonly<Record<string, string | boolean>>;

/** One field's complaint, in words. */
export interface FieldError {
  readonly name: string;
  readonly message: string;
}

/** The JSON a form yields, or why it cannot yet. */
export type FormResult = { readonly value: unknown } | { readonly errors: readonly FieldError[] };

type Schema = Readonly<Record<string, unknown>>;

const isRecord = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The kind of control a property schema fits, or undefined when only raw JSON can express it. */
function kindOf(schema: Schema, required: boolean): FieldKind | undefined {
  if (Array.isArray(schema.enum) || 'const' in schema) return 'enum';
  switch (schema.type) {
    case 'string':
    case 'number':
    case 'integer':
      return schema.type;
    case 'boolean':
      // An optional boolean needs a third state (absent), which a checkbox lacks: a select has it.
      return required ? 'boolean' : 'enum';
    case 'array':
      return isRecord(schema.items) && schema.items.type === 'string' && !Array.isArray(schema.items.enum) ? 'string-list' : undefined;
    default:
      return undefined;
  }
}

function optionsOf(schema: Schema): string[] {
  if (Array.isArray(schema.enum)) return schema.enum.map((option) => JSON.stringify(option));
  if ('const' in schema) return [JSON.stringify(schema.const)];
  return ['true', 'false'];
}

function initialOf(kind: FieldKind, value: unknown): string | boolean {
  if (value === undefined) return kind === 'boolean' ? false : '';
  switch (kind) {
    case 'boolean':
      return value === true;
    case 'enum':
      return JSON.stringify(value);
    case 'string-list':
      return Array.isArray(value) ? value.map(String).join('\n') : '';
    default:
      return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
  }
}

/**
 * The form of `schema`: a field per property of an object schema whose every property is a
 * string, number, integer, boolean, enum or array of strings; otherwise raw JSON, shown first as
 * the schema's first example (or `{}`).
 */
export function planForm(schema: unknown): FormPlan {
  const example = isRecord(schema) && Array.isArray(schema.examples) ? schema.examples[0] : undefined;
  const raw: FormPlan = { kind: 'raw', initial: JSON.stringify(example ?? (isRecord(schema) && schema.type === 'object' ? {} : null), null, 2) };
  if (!isRecord(schema) || schema.type !== 'object' || !isRecord(schema.properties ?? {})) return raw;
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((name): name is string => typeof name === 'string') : []);
  const fields: Field[] = [];
  for (const [name, property] of Object.entries((schema.properties ?? {}) as Schema)) {
    if (!isRecord(property)) return raw;
    const kind = kindOf(property, required.has(name));
    if (!kind) return raw;
    const given = 'default' in property ? property.default : isRecord(example) ? example[name] : undefined;
    fields.push({
      name,
      kind,
      required: required.has(name),
      ...(typeof property.description === 'string' ? { description: property.description } : {}),
      ...(kind === 'enum' ? { options: optionsOf(property) } : {}),
      initial: initialOf(kind, given),
    });
  }
  return { kind: 'fields', fields };
}

/** A field's JSON value from its control's text, `undefined` to leave the property out, or an error message. */
function valueOf(field: Field, entered: string | boolean | undefined): { value: unknown } | { message: string } {
  if (field.kind === 'boolean') return { value: entered === true };
  const text = typeof entered === 'string' ? entered : '';
  switch (field.kind) {
    case 'string':
      return { value: text === '' && !field.required ? undefined : text };
    case 'string-list': {
      const items = text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
      return { value: items.length === 0 && !field.required ? undefined : items };
    }
  }
  // An empty select or number box means "not given": fine when optional, missing when required.
  if (text.trim() === '') return field.required ? { message: 'is required' } : { value: undefined };
  switch (field.kind) {
    case 'enum': {
      if (!field.options?.includes(text)) return { message: 'must be one of the listed values' };
      return { value: JSON.parse(text) as unknown };
    }
    case 'number':
    case 'integer': {
      const number = Number(text.trim());
      if (!Number.isFinite(number)) return { message: 'must be a number' };
      if (field.kind === 'integer' && !Number.isInteger(number)) return { message: 'must be a whole number' };
      return { value: number };
    }
  }
}

/**
 * The JSON of a form: for a field plan, an object of every property entered (an optional one left
 * empty is left out); for the raw plan, `values.json` parsed. Errors name the field (`json` for raw).
 */
export function readForm(plan: FormPlan, values: FormValues): FormResult {
  if (plan.kind === 'raw') {
    const text = typeof values.json === 'string' ? values.json : '';
    try {
      return { value: JSON.parse(text) as unknown };
    } catch {
      return { errors: [{ name: 'json', message: 'is not valid JSON' }] };
    }
  }
  const value: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const field of plan.fields) {
    const read = valueOf(field, values[field.name]);
    if ('message' in read) errors.push({ name: field.name, message: read.message });
    else if (read.value !== undefined) value[field.name] = read.value;
  }
  return errors.length > 0 ? { errors } : { value };
}
