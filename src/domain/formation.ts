/** Desired count and size of one process type of an app. */
export interface Formation {
  readonly appId: string;
  readonly type: string;
  readonly quantity: number;
  readonly size: string;
}

/** The formation every new app starts with. */
export function defaultFormation(appId: string): Formation[] {
  return [{ appId, type: "web", quantity: 1, size: "S" }];
}
