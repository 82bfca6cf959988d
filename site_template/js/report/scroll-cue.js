/**
 * Wide tables on a narrow screen: each `.table-scroll` box gets
 * data-scroll="more" while columns are hidden to its right, "end" once
 * scrolled to its right edge and "none" when the table fits. The CSS
 * (css/figures.css) shows the box's scroll cue for "more". Used by
 * report.html and train.html.
 */
const SLACK_PX = 2; // rounding of scroll positions: closer than this to the edge is at the edge

/** Keep data-scroll of every `.table-scroll` under `root` true as the boxes resize, scroll or fill. */
export function watchWideTables(root = document) {
  const boxes = [...root.querySelectorAll('.table-scroll')];
  const observer = new ResizeObserver((entries) => entries.forEach(({ target }) => mark(target.closest('.table-scroll'))));
  for (const box of boxes) {
    box.addEventListener('scroll', () => mark(box), { passive: true });
    observer.observe(box);
    for (const table of box.querySelectorAll('table')) observer.observe(table); // rows filled in later
    mark(box);
  }
}

function mark(box) {
  const hidden = box.scrollWidth - box.clientWidth;
  box.dataset.scroll = hidden <= SLACK_PX ? 'none' : box.scrollLeft >= hidden - SLACK_PX ? 'end' : 'more';
}
