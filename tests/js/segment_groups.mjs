// segment.js from Python (tests/test_twins.py): reads {"rules": {...}, "numbers": [strokes, ...]} as JSON on stdin,
// writes per number the groups findDigits makes (each a list of stroke indices, in reading order) as JSON.
import { findDigits } from '../../site_template/js/segment.js';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { rules, numbers } = JSON.parse(input);
process.stdout.write(JSON.stringify(numbers.map((strokes) => findDigits(strokes, rules).map((d) => d.strokes))));
