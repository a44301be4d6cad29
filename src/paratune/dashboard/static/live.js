// Drawing figures while they are in view. A figure scrolled out of sight is neither drawn
// nor redrawn as the run goes on: it is drawn when it comes back. The page then spends
// little of the machine, which is often the one that runs the trials, and opens fast even
// when a figure (parallel coordinates, say) is slow to draw.

const MARGIN = 300; // px above and below the window that count as in view

function inView(part) {
  return part.holders.some((holder) => {
    const box = holder.getBoundingClientRect();
    return (box.width || box.height) && box.bottom > -MARGIN && box.top < innerHeight + MARGIN;
  });
}

/** The stale parts in view whose `every` has passed, taken out of `stale` as drawn at `now`. */
function takeDue(stale, lastDrawn, now) {
  const due = [...stale].filter(
    (p) => inView(p) && now - (lastDrawn.get(p) ?? -Infinity) >= (p.every ?? 0),
  );
  for (const part of due) {
    stale.delete(part);
    lastDrawn.set(part, now);
  }
  return due;
}

/** Call `seen` when one of the parts' holders comes into view (or leaves it). */
function watch(parts, seen) {
  const observer = new IntersectionObserver(seen, { rootMargin: `${MARGIN}px 0px` });
  for (const part of parts) for (const holder of part.holders) observer.observe(holder);
}

/**
 * Keep `parts` drawn: each {holders: [Element], draw: async () => void, every: ms} is
 * drawn when one of its holders is in view and it is stale (never drawn, or the data
 * changed since), at most once per `every` ms. After a change, redraws wait at least a
 * second and three times what the last round of drawing took, so a large run's page stays
 * responsive. `onDrawn(all)` is called after each round: `all` once every part has been
 * drawn at least once.
 */
export function drawWhileInView(parts, alive, onDrawn = () => {}) {
  const stale = new Set(parts);
  const drawn = new Set();
  const lastDrawn = new Map();
  let timer = 0;
  let busy = false;
  let last = 0;
  let cost = 0;

  const schedule = (wait) => {
    if (timer || !alive()) return;
    timer = setTimeout(run, Math.max(0, wait));
  };
  const soon = () => schedule(last + Math.max(1000, 3 * cost) - performance.now());

  async function run() {
    timer = 0;
    if (!alive()) return;
    if (busy) return soon();
    busy = true;
    const started = performance.now();
    last = started;
    const due = takeDue(stale, lastDrawn, started);
    try {
      await Promise.all(due.map((part) => part.draw()));
    } finally {
      busy = false;
    }
    for (const part of due) drawn.add(part);
    cost = due.length ? performance.now() - started : cost;
    onDrawn(drawn.size === parts.length);
    if ([...stale].some(inView)) soon(); // waiting for its `every`, or came into view meanwhile
  }

  watch(parts, () => {
    if (alive() && [...stale].some(inView)) schedule(0);
  });

  return {
    /** Draw what is in view now; resolves when it is drawn. */
    now: run,
    /** The data changed: every part (or those given) is stale, those in view redrawn soon. */
    changed(some = parts) {
      for (const part of some) stale.add(part);
      soon();
    },
    /** One part is stale (a choice about it changed): redraw it at once if in view. */
    redraw(part) {
      stale.add(part);
      schedule(0);
    },
  };
}
