// "Your data": the SDK's privacy centre — consent and its history, answers, inferred interests,
// remembered products, what left the device and what can, and the visitor's rights (download,
// clear this device, ask the server for a copy or an erasure). Product ids are shown by name.
import { mountPrivacyCenter } from '@attune/sdk';
import { markReady, startAttune, trackPageView } from '../attune';
import { byId } from '../dom';
import { products } from '../catalogue';

const attune = await startAttune();
trackPageView(attune);

const labels: Record<string, string> = Object.fromEntries(products.map((p) => [p.id, p.title]));
mountPrivacyCenter(byId('privacy-center'), attune, { labels });
markReady(attune);
