/** Every protocol the configuration knows about; adapters arrive one at a time. */
export const PROTOCOLS = ["postgres", "mysql", "ssh", "kubernetes", "http"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Protocols with an adapter today. Add a protocol here when its adapter lands. */
export const SUPPORTED_PROTOCOLS: ReadonlySet<Protocol> = new Set<Protocol>(["postgres"]);

export function isSupportedProtocol(protocol: Protocol): boolean {
  return SUPPORTED_PROTOCOLS.has(protocol);
}
