/**
 * Doubt: whether a digit's probabilities name it, or the page should say it
 * is not sure. Pure; the thresholds come from the build's config
 * (pipeline/contract.py), which `pipeline predict` uses too.
 *
 * The probabilities are calibrated (pipeline/calibration.py): a top
 * probability below `doubtBelow` means the model would be wrong at least as
 * often as right, so the page shows "?" rather than a guess.
 */

/**
 * @param {ArrayLike<number>} probabilities one per label, then (when the model
 *   has it) not-a-digit's, which shows "?" whenever it beats every digit
 * @param {string[]} labels the digits' labels
 * @param {{doubtBelow: number, tornAbove: number}} thresholds
 * @returns {{shown: string, sure: boolean, between: string[]}} shown: the label, or "?";
 *   between: the two labels it is torn between ("4 or 9?"), empty when it is sure
 *   or when no two labels hold `tornAbove` together (not a digit, as far as it can tell)
 */
export function judge(probabilities, labels, { doubtBelow, tornAbove }) {
  const order = [...labels.keys()].sort((a, b) => probabilities[b] - probabilities[a]);
  const [first, second] = order;
  const notADigit = probabilities.length > labels.length ? probabilities[labels.length] : 0;
  if (probabilities[first] >= doubtBelow && probabilities[first] > notADigit) {
    return { shown: labels[first], sure: true, between: [] };
  }
  const torn = probabilities[first] + probabilities[second] >= tornAbove;
  return { shown: '?', sure: false, between: torn ? [labels[first], labels[second]] : [] };
}

/**
 * The sentence that says what is doubtful in a reading, or '' when every digit is sure.
 * @param {Array<{sure: boolean, between: string[]}>} verdicts left to right
 */
export function doubtSentence(verdicts) {
  const doubtful = verdicts.map((verdict, index) => ({ ...verdict, index })).filter(({ sure }) => !sure);
  if (doubtful.length === 0) return '';
  const what = ({ between }) => (between.length ? `${between[0]} or ${between[1]}?` : 'not a digit?');
  if (verdicts.length === 1) {
    return doubtful[0].between.length ? what(doubtful[0]) : 'That does not look like a digit.';
  }
  return doubtful.map((verdict) => `digit ${verdict.index + 1}: ${what(verdict)}`).join('; ');
}
