// The privacy centre's data: what `attune.privacy.view()` returns, the export document and the
// erasure receipt. Documented in docs/privacy.md (the export's schema is versioned by `format`).
import type {
  ConsentReceipt,
  ConsentView,
  EgressManifest,
  Event,
  LogEntry,
  PurposeId,
  SentPayload,
} from './generated/index.js';

/** One stored answer, with everything the visitor needs to judge it. */
export interface PrivacyAnswer {
  /** The question's id. */
  question: string;
  /** The question as it was asked (in the page's language), or the id if the question is gone. */
  text: string;
  /** The answer in words (option labels joined with ", ", "Yes"/"No", the number). */
  answer: string;
  /** The answer as stored. */
  value: string | string[] | number | boolean;
  purpose: PurposeId;
  /** Why the site asks, and what the answer is used for (the marketer's words). */
  why: string;
  usedFor: string;
  retentionDays: number;
  /** When it was given and when it is forgotten (ms since epoch). */
  at: number;
  expires: number;
}

/** An interest inferred from the visitor's own activity on this device. */
export interface PrivacyInterest {
  tag: string;
  /** 0–1, relative to the strongest interest. */
  strength: number;
  /** "strong" | "some" | "slight", for plain words. */
  level: 'strong' | 'some' | 'slight';
  /** The items it comes from (ids), newest first. */
  items: string[];
}

/** An item the recommender remembers (from `attune:recs`). */
export interface PrivacyItem {
  item: string;
  /** The catalogue's title, if the catalogue is loaded. */
  title?: string;
  /** What the visitor did: view, click, cart, purchase, dwell, skip, notInterested. */
  kind: string;
  at: number;
}

/** Everything the privacy centre shows, read at one moment. */
export interface PrivacyView {
  siteId: string;
  generatedAt: number;
  consent: ConsentView;
  /** The consent history, oldest first, and whether its hash chain checks out. */
  history: LogEntry[];
  historyVerified: boolean;
  answers: PrivacyAnswer[];
  interests: PrivacyInterest[];
  recentItems: PrivacyItem[];
  /** Tags the visitor hid from recommendations. */
  muted: string[];
  /** The last payloads that left this device, oldest first, exactly as sent. */
  egressLog: SentPayload[];
  /** Everything that can ever leave. */
  manifest: EgressManifest;
  /** Events waiting to be sent. */
  queued: number;
  /** Whether this device holds the key that proves its server-side data is its own. */
  deviceKey: boolean;
  /** Whether requests to the site's server (copy, deletion) can be made from here. */
  serverRights: boolean;
  /** `'local'` or `'memory'` (nothing survives the page). */
  storage: 'local' | 'memory';
}

/** `attune-export/1`: one JSON document, from the device or from the site's collector. */
export interface ExportDocument {
  format: 'attune-export/1';
  source: 'device' | 'collector';
  siteId: string;
  generatedAt: number;
  /** Device export only. */
  consent?: ConsentReceipt;
  answers?: PrivacyAnswer[];
  interests?: PrivacyInterest[];
  recommendations?: unknown;
  queuedEvents?: Event[];
  egressLog?: SentPayload[];
  /** Every `attune:*` key in this browser's storage, parsed, exactly as stored. */
  storage?: Record<string, unknown>;
  /** What the SDK keeps in IndexedDB: the device key's public halves (the private half is described: it cannot be read). */
  indexedDB?: Record<string, unknown>;
  /** Both: the pseudonymous ids (device: current; collector: every id it holds for the device). */
  pseudonymousIds?: Array<{ purpose: string; id: string; since?: number; firstSeen?: number; lastSeen?: number }>;
  /** Device: the public half of the device key; collector: what it stores about the device. */
  device?: { keyHash: string; publicKey?: string; created?: number; erasedBefore?: number | null; firstSeen?: number; lastSeen?: number } | null;
  /** Collector export only: every stored event and consent receipt of the device. */
  events?: Array<{ id: string; name: string; purpose: string; ts: number; props: Record<string, unknown>; pid?: string; receivedAt: number }>;
  receipts?: Array<{ hash: string; granted: string[]; firstSeen: number; lastSeen: number }>;
}

/** `attune-erasure-receipt/1`: the collector's answer to an erasure request. */
export interface ErasureReceipt {
  format: 'attune-erasure-receipt/1';
  receiptId: string;
  siteId: string;
  keyHash: string;
  requestedAt: number;
  erasedAt: number;
  deleted: { events: number; receipts: number; pseudonymousIds: number };
  suppressed: { keyHash: boolean; pseudonymousIds: number };
}

/** `attune.privacy`: see, export and delete everything the SDK holds about the visitor. */
export interface PrivacyApi {
  /** Everything held about the visitor on this device, and what left it. */
  view(): PrivacyView;
  /** Deletes one stored answer; `false` if there was none. */
  forgetAnswer(question: string): boolean;
  /** Forgets an inferred interest: the remembered items it comes from are forgotten. */
  forgetInterest(tag: string): boolean;
  /** Forgets one remembered item. */
  forgetItem(item: string): boolean;
  /** Shows a tag the visitor hid from recommendations again. */
  unmute(tag: string): void;
  /** Removes every Attune key from this browser's storage and resets the SDK (consent is asked again). */
  clearDevice(): void;
  /** The device export (`attune-export/1`, `source: 'device'`). */
  exportDevice(): ExportDocument;
  /** Asks the site's collector for its copy (proven with the device key). Rejects an `AttuneError`. */
  requestServerCopy(): Promise<ExportDocument>;
  /** Asks the site's collector to delete everything it holds for this device. Rejects an `AttuneError`. */
  requestServerErasure(): Promise<ErasureReceipt>;
  /** Saves a document as a `.json` download (browser only). */
  download(doc: unknown, filename: string): void;
  /** Called after anything the centre shows changed (here or in another tab). */
  onChange(listener: () => void): () => void;
}
