// What names a cached test image and what is inside it must not move when the code that
// makes it is reorganised: images cached by an older checkout are used as they are (a
// rebuild takes minutes), so a changed key or UUID would give a test an image whose
// filesystems do not have the UUIDs it expects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layoutFacts } from '../../src/disk.js';
import { imageKey, normalizeRecipe } from '../../src/recipe.js';

void test('the default mbr-ext4 image keeps the key and the root UUID it was first cached with', () => {
  const recipe = normalizeRecipe({ layout: 'mbr-ext4' });
  const key = imageKey(recipe);
  assert.equal(key, '1a27ffae280611b8');
  // Read from the root filesystem of the image built under that key by the first checkout.
  assert.equal(layoutFacts(recipe, key).rootUuid, 'c80c1550-ca0b-46e9-a01b-61cad24bf8cf');
});
