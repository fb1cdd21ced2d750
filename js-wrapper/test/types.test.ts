// The public types, checked by tsc (the generated ones come from the Rust structs via ts-rs).
import { describe, expectTypeOf, it } from 'vitest';
import type {
  Attune,
  AttuneError,
  ConsentView,
  PurposeState,
  Reason,
  Recommendation,
  RecommendOptions,
  SiteConfig,
  Status,
} from '../src/index.js';

describe('public types', () => {
  it('a config is all-optional but strict about what it contains', () => {
    expectTypeOf<{}>().toExtend<SiteConfig>();
    expectTypeOf<{ policy: { revision: number; expiryDays: number } }>().toExtend<SiteConfig>();
    expectTypeOf<{ purposes: [{ id: string }] }>().not.toExtend<SiteConfig>();
    expectTypeOf<{ egress: { flushIntervalMs: string } }>().not.toExtend<SiteConfig>();
  });

  it('consent state is a closed set of statuses and sources', () => {
    expectTypeOf<Status>().toEqualTypeOf<'granted' | 'denied' | 'notAsked'>();
    expectTypeOf<PurposeState['source']>().toEqualTypeOf<'required' | 'banner' | 'api' | 'gpc' | 'dnt' | 'default'>();
    expectTypeOf<ConsentView['purposes']>().toEqualTypeOf<PurposeState[]>();
  });

  it('the API returns what the docs promise', () => {
    expectTypeOf<Attune['track']>().returns.toEqualTypeOf<string | null>();
    expectTypeOf<Attune['consent']['get']>().returns.toEqualTypeOf<ConsentView>();
    expectTypeOf<Attune['error']>().toEqualTypeOf<AttuneError | undefined>();
    expectTypeOf<AttuneError>().toExtend<Error>();
  });

  it('recommendations are typed: slots, reasons and signal kinds are closed sets', () => {
    expectTypeOf<Attune['recommend']>().returns.toEqualTypeOf<Promise<Recommendation[]>>();
    expectTypeOf<Reason['kind']>().toEqualTypeOf<'history' | 'context' | 'stated' | 'interest' | 'popular' | 'promoted'>();
    expectTypeOf<{ slot: 'aisle' }>().not.toExtend<RecommendOptions>();
    expectTypeOf<{ slot: 'similar'; context: 'p01'; tags: { noneOf: ['sale'] } }>().toExtend<RecommendOptions>();
    expectTypeOf<Parameters<Attune['recommendations']['signal']>[0]>().toEqualTypeOf<
      'view' | 'click' | 'cart' | 'purchase' | 'dwell' | 'skip' | 'notInterested'
    >();
  });
});
