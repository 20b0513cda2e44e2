import { Type } from '@mikro-orm/core';
import { PortSpec } from './port-spec.ts';

/** Persists a `PortSpec` as its canonical text, so the column reads as users wrote it. */
export class PortSpecType extends Type<PortSpec, string> {
  override convertToDatabaseValue(value: PortSpec): string {
    return value.toString();
  }

  override convertToJSValue(value: string): PortSpec {
    return PortSpec.parse(value);
  }

  override compareAsType(): string {
    return 'string';
  }

  override getColumnType(): string {
    return 'text';
  }
}
