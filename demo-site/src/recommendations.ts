// The shop's recommendation rails, computed on this device by the SDK from the published
// catalogue (see src/attune.ts). With personalization on, from what the visitor looks at and
// adds to the cart; without it, from popularity and the product on screen only.
import { mountRecommendations, type RecommendationClick, type RecommendationsOptions } from '@attune/sdk';
import type { AttuneInstance } from './attune';

/** Tag names as the rail's "Why?" panel shows them. */
export const TAG_LABELS: Record<string, string> = { 'cast-iron': 'cast iron', electronics: 'electronics', home: 'home and living' };

/**
 * Mounts `<attune-recommendations>` in `host`. A click on an item is tracked as
 * `recommendation_click` (personalization: sent only with consent, and a `click` signal for the
 * recommender by the ranking config).
 */
export function mountRail(attune: AttuneInstance, host: HTMLElement, from: string, options: RecommendationsOptions) {
  const rail = mountRecommendations(host, attune, { labels: TAG_LABELS, ...options });
  rail.addEventListener('attune-recommendation-click', (event) => {
    const { id, position } = (event as CustomEvent<RecommendationClick>).detail;
    attune.track('recommendation_click', { productId: id, from, position }, 'personalization');
  });
  return rail;
}
