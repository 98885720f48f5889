import { Matcher } from '../../lib/match';
import { latency, type BenchSection, type Measurement } from '../types';

const MODEL = 'faceapi-resnet128';
const DIM = 128;

function randomUnitVector(): Float32Array {
  const v = new Float32Array(DIM);
  let norm = 0;
  for (let i = 0; i < DIM; i++) {
    v[i] = Math.random() - 0.5;
    norm += v[i] * v[i];
  }
  for (let i = 0; i < DIM; i++) v[i] /= Math.sqrt(norm);
  return v;
}

/** A matcher holding `size` random 128-d embeddings, five faces per person. */
function filledMatcher(size: number, kernel: 'auto' | 'js'): Matcher {
  const matcher = new Matcher({ kernel });
  for (let faceId = 1; faceId <= size; faceId++) {
    const personId = Math.ceil(faceId / 5);
    matcher.add({ id: personId, name: `person ${personId}`, list: 'known' }, [{ faceId, personId, model: MODEL, embedding: randomUnitVector() }]);
  }
  return matcher;
}

function timeQueries(matcher: Matcher, queries: number): number[] {
  const samples: number[] = [];
  for (let i = 0; i < queries + 5; i++) {
    const query = randomUnitVector();
    const started = process.hrtime.bigint();
    matcher.nearest(query, MODEL, 5);
    if (i >= 5) samples.push(Number(process.hrtime.bigint() - started) / 1e6); // the first few warm up the JIT
  }
  return samples;
}

/** Nearest-neighbour time (best face per person, top 5 people) by DB size, and the plain-JS scan as the baseline. */
const section: BenchSection = {
  name: 'matcher',
  async run(ctx) {
    const queries = ctx.quick ? 20 : 200;
    const out: Measurement[] = [];
    for (const size of [1_000, 10_000, 100_000]) {
      const results: Record<string, number[]> = {};
      for (const kernel of ['auto', 'js'] as const) {
        const matcher = filledMatcher(size, kernel);
        results[kernel] = timeQueries(matcher, queries);
        if (kernel === 'auto') out.push(latency(`nearest ${size} x 128-d (${matcher.kernel()})`, results[kernel]));
        else out.push(latency(`nearest ${size} x 128-d (js baseline)`, results[kernel]));
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      out.push({ name: `speed-up over js at ${size}`, kind: 'value', value: median(results.js) / median(results.auto), unit: 'x' });
      await new Promise((resolve) => setImmediate(resolve));
    }
    const loadStarted = process.hrtime.bigint();
    filledMatcher(100_000, 'auto');
    out.push({ name: 'build 100000 x 128-d matrix', kind: 'value', value: Number(process.hrtime.bigint() - loadStarted) / 1e6, unit: 'ms', note: 'incl. random vectors' });
    return out;
  },
};

export default section;
