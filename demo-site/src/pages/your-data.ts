// "Your data": the SDK's privacy centre — consent and its history, answers, inferred interests,
// remembered products, what left the device and what can, and the visitor's rights (download,
// clear this device, ask the server for a copy or an erasure). Product ids are shown by name, and
// the catalogue's tags in plain words ('cast-iron' → 'cast iron').
import { mountPrivacyCenter } from '@attune/sdk';
import { markReady, startAttune, trackPageView } from '../attune';
import { byId } from '../dom';
import { products } from '../catalogue';

const attune = await startAttune();
trackPageView(attune);

const tagLabels = products.flatMap((p) => p.tags.filter((tag) => tag.includes('-')).map((tag) => [tag, tag.replaceAll('-', ' ')] as const));
const labels: Record<string, string> = Object.fromEntries([...tagLabels, ...products.map((p) => [p.id, p.title] as const)]);
mountPrivacyCenter(byId('privacy-center'), attune, { labels });
markReady(attune);
