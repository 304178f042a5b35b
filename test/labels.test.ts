/**
 * src/labels: the label sets every floor shares. The checks are about what the rest of the code relies on:
 * the ignore id is outside every set's classes, each class has one distinct colour, the VOC set's colours
 * are the VOC colour map, and the viewer's legend is built from the set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLASS_COLORS, CLASS_NAMES, ClassId, DDD17_LABELS, IGNORE_COLOR, IGNORE_LABEL, NUM_CLASSES, VOC_CLASSES, VOC_LABELS, classColor, labelColor, vocColor, type LabelSet } from '../src/labels/index.js';
import { classStyle } from '../src/pipeline/render.js';

const sets: LabelSet[] = [DDD17_LABELS, VOC_LABELS];

test('each label set: one colour per class, all distinct (only VOC background shares the ignore colour); ignore id outside the classes', () => {
  for (const s of sets) {
    assert.equal(s.colors.length, s.classes.length, s.name);
    assert.equal(new Set(s.classes).size, s.classes.length, `${s.name}: duplicate class names`);
    const keys = s.colors.map((c) => c.join(','));
    assert.equal(new Set(keys).size, keys.length, `${s.name}: duplicate colours ${keys.join(' ')}`);
    assert.equal(s.ignore, IGNORE_LABEL);
    assert.ok(s.classes.length <= IGNORE_LABEL, `${s.name}: ${s.classes.length} classes reach the ignore id`);
    for (const c of s.colors) for (const v of c) assert.ok(Number.isInteger(v) && v >= 0 && v <= 255, `${s.name}: colour ${c.join(',')}`);
  }
  // VOC class 0 (background) is black in the VOC map, like the ignore colour: the one allowed match
  assert.deepEqual(
    sets.flatMap((s) => s.colors.map((c, i) => ({ s: s.name, i, c }))).filter((x) => x.c.join(',') === IGNORE_COLOR.join(',')).map((x) => `${x.s}:${x.i}`),
    ['voc:0'],
  );
});

test('DDD17: six classes, ids index the names, colours by id, ignore and unknown ids black', () => {
  assert.equal(NUM_CLASSES, 6);
  assert.equal(CLASS_NAMES.length, NUM_CLASSES);
  assert.deepEqual(Object.values(ClassId).sort(), [0, 1, 2, 3, 4, 5]);
  assert.equal(CLASS_NAMES[ClassId.vehicle], 'vehicle');
  assert.equal(CLASS_NAMES[ClassId.constructionSky], 'construction+sky');
  for (let i = 0; i < NUM_CLASSES; i++) assert.deepEqual(classColor(i), CLASS_COLORS[i]);
  assert.deepEqual(classColor(IGNORE_LABEL), IGNORE_COLOR);
  assert.deepEqual(classColor(NUM_CLASSES), IGNORE_COLOR);
  assert.deepEqual(labelColor(DDD17_LABELS, 2), CLASS_COLORS[2]);
  assert.deepEqual(labelColor(DDD17_LABELS, IGNORE_LABEL), IGNORE_COLOR);
});

test('VOC: 21 classes coloured by the VOC bit-interleaved map; the ignore border is (224, 224, 192)', () => {
  assert.equal(VOC_LABELS.classes.length, VOC_CLASSES);
  assert.equal(VOC_LABELS.classes[15], 'person');
  // the map spreads bits 0/1/2 of the id over the top bits of R/G/B: person = 15 = 0b001111
  assert.deepEqual(VOC_LABELS.colors[15], [192, 128, 128]);
  assert.deepEqual(VOC_LABELS.colors[1], [128, 0, 0]);
  assert.deepEqual(vocColor(IGNORE_LABEL), [224, 224, 192]);
  for (let i = 0; i < VOC_CLASSES; i++) assert.deepEqual(labelColor(VOC_LABELS, i), vocColor(i));
});

test('the viewer legend (classStyle) follows the label set, then generates distinct colours past its end', () => {
  const six = classStyle(6);
  assert.deepEqual(six.names, [...CLASS_NAMES]);
  assert.deepEqual(six.colors, CLASS_COLORS.map((c) => [...c]));
  const voc = classStyle(VOC_CLASSES, VOC_LABELS);
  assert.deepEqual(voc.names, [...VOC_LABELS.classes]);
  assert.deepEqual(voc.colors[7], vocColor(7));
  const more = classStyle(9);
  assert.deepEqual(more.names.slice(6), ['class 6', 'class 7', 'class 8']);
  assert.equal(new Set(more.colors.map((c) => c.join(','))).size, 9, 'generated colours repeat a set colour');
  assert.deepEqual(classStyle(0), { names: [], colors: [] });
});
