const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `text` is a UUID (any case): what PostgreSQL's `uuid` takes, so a lookup with it cannot fail in SQL. */
export const isUuid = (text: string): boolean => UUID.test(text);

/** A UUID no row has: what an ID that names nothing becomes, so it is answered like an unknown one. */
export const NO_UUID = '00000000-0000-0000-0000-000000000000';
