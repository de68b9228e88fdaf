// What the inspector's worker (worker.ts) answers the page (panel.ts) through comlink: plain,
// structured-clonable data, already in the words and JSON shapes the CLI prints.

/** One file the user gave the inspector. */
export interface FileView {
  id: number;
  name: string;
  /** client: a syslayer client (plan applies); layer: a layer object, added to the catalog; elf: another ELF file. */
  kind: 'client' | 'layer' | 'elf' | 'not-elf' | 'error';
  /** `syslayer inspect`'s text of the file, and its `--json` document. */
  text: string;
  json: unknown;
}

/** What `plan` would do with a client for a kernel: the decision and the rule's inputs (as plan --json carries them). */
export interface PlanView {
  kernel: string;
  action: 'bind' | 'refuse' | 'pass';
  /** The chosen layer's name and revision, for `bind`. */
  layer: string | null;
  /** Why it is refused, for `refuse`. */
  reason: string | null;
  /** The selection as plan --json's `clients[].selection` (indices into `catalog`), when the rule ran. */
  selection: unknown;
  machine: string;
  abi: number | null;
}

/** The catalog the inspector plans with, each layer as plan --json's `catalog` shows it, and where it came from. */
export interface CatalogView {
  source: 'reference' | 'dropped';
  layers: unknown[];
}

export interface InspectorApi {
  /** Inspects a file; a layer object also joins the catalog (the first one dropped replaces the reference layers). */
  inspect(name: string, bytes: ArrayBuffer): FileView;
  /** What plan would do with file `id` for `kernel` (a.b[.c]); throws with the reason for a kernel it cannot read. */
  plan(id: number, kernel: string): PlanView;
  catalog(): CatalogView;
  /** Back to the SDK's reference layers. */
  resetCatalog(): CatalogView;
}
