import { expect, it } from 'vitest';
import { brokenGraphProperties, graphProperties, linearPlanProperties, parserMutations, parserRoundTrip, planProperties } from './properties';
import { runScenario, runSeed, Scenario } from './support';

/** The property suites of the fast subset, with many more runs. */
const seed = runSeed();
const suites: [string, string, (runs: number, seed?: number) => number, number][] = [
  ['property: parser round trip (generated valid files, LF/CRLF, BOM)', 'revision, revises, message, transactional, extra headers, sections, section line and checksum survive render → parse; checksum ignores line endings', parserRoundTrip, 3000],
  ['property: parser under random mutations', 'deletions, inserted bytes/markers, bit flips, truncation, duplicated/swapped lines: result is a well-formed file or a MutxError (exit 2) whose one-line message names file:line inside the file', parserMutations, 5000],
  ['property: revision graph on random DAGs (≤24 revisions)', 'order is a topological permutation; heads = childless; bases = parentless; ancestorsOrSelf contains the seeds, is closed, minimal and idempotent; ancestorsOrSelf(headsOf(A)) = A; descendantsOrSelf closed; resolve(id) = id', graphProperties, 2000],
  ['property: broken graphs (cycles, duplicates, unknown parents)', 'RevisionGraph.build always throws a MutxError with exit 2', brokenGraphProperties, 1500],
  ['property: target resolution on random DAGs', 'upgrade heads applies each pending revision once, parents first; upgrade ID reaches exactly start ∪ ancestors(ID); upgrade then downgrade back returns to the same heads; downgrade base empties, children first; step heads consistent', planProperties, 2000],
  ['property: +N / -N on linear chains', '+N then -N returns to the start; ID+N = +N; ID-N = -N; past the head is a MutxError', linearPlanProperties, 2000],
];

for (const [name, checked, suite, runs] of suites) {
  it(name, async () => {
    const scenario = new Scenario(`${name} (fast-check seed ${seed})`, checked, 'properties');
    await runScenario(scenario, async (s) => {
      let counted = 0;
      try {
        counted = suite(runs, seed);
      } catch (error) {
        s.fail((error as Error).message.split('\n').slice(0, 6).join(' '));
      }
      s.iterations = counted || runs;
    });
    expect(scenario.failures).toEqual([]);
  });
}
