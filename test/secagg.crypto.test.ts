// The WebCrypto building blocks: key pairs from random bytes agree from both ends, the small-order
// list is exactly what WebCrypto refuses to agree with (so refusing it early loses no valid key),
// sealed shares open only with their round and ids, the PRG is a deterministic function of its
// seed, and base64url round-trips.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { agree, expandSeed, fromBase64Url, keyPairFrom, openGcm, sealGcm, smallOrder, toBase64Url } from "../src/federated/secagg/crypto.js";
import { shareAad, shareKey } from "../src/federated/secagg/masks.js";
import { SecAggServer } from "../src/federated/secagg/server.js";
import { seededRandom } from "./secagg-harness.js";

const CURVE_P = (1n << 255n) - 19n;

function le32(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

test("key pairs from random bytes agree from both ends; a different peer gives a different secret", async () => {
  const random = seededRandom(1);
  const [a, b, c] = [await keyPairFrom(random), await keyPairFrom(random), await keyPairFrom(random)];
  const ab = await agree(a.key, b.publicKey, "b");
  assert.equal(Array.from(ab), Array.from(await agree(b.key, a.publicKey, "a")));
  assert.not.equal(Array.from(ab), Array.from(await agree(a.key, c.publicKey, "c")));
  await agree(a.key, b.publicKey.subarray(1), "client 9").then(
    () => assert.unreachable("a 31-byte key"),
    (e: Error) => assert.match(e.message, /client 9: public key must be 32 bytes, got 31/),
  );
});

test("every small-order key (either top bit) is refused by WebCrypto agreement and by smallOrder; random keys are not", async () => {
  const { key } = await keyPairFrom(seededRandom(2));
  const points = [0n, 1n, 325606250916557431795983626356110631294008115727848805560023387167927233504n, 39382357235489614581723060781553021112529911719440698176882885853963445705823n, CURVE_P - 1n, CURVE_P, CURVE_P + 1n];
  for (const u of points) {
    for (const top of [0n, 1n << 255n]) {
      const pk = le32(u | top);
      assert.ok(smallOrder(pk), `smallOrder(${u})`);
      await agree(key, pk, "peer").then(
        () => assert.unreachable(`WebCrypto agreed with the small-order point ${u}`),
        (e: { code?: string }) => assert.is(e.code, "bad-message"),
      );
    }
  }
  const random = seededRandom(3);
  for (let i = 0; i < 20; i++) assert.not.ok(smallOrder((await keyPairFrom(random)).publicKey));
  const server = new SecAggServer({ round: 1, threshold: 2, length: 1, clients: [1, 2] });
  const good = (await keyPairFrom(random)).publicKey;
  assert.throws(() => server.receiveAdvertise({ round: 1, client: 1, cPK: good, sPK: le32(0n) }), /client 1: sPK is a point of small order/);
});

test("a sealed share opens only under its key, round, sender and recipient", async () => {
  const random = seededRandom(4);
  const [a, b] = [await keyPairFrom(random), await keyPairFrom(random)];
  const kab = await shareKey(a.key, b.publicKey, 3, 10, 20);
  assert.equal(Array.from(kab), Array.from(await shareKey(b.key, a.publicKey, 3, 20, 10)));
  const iv = new Uint8Array(12).fill(1);
  const plain = Uint8Array.from({ length: 66 }, (_, i) => i);
  const sealed = await sealGcm(kab, iv, plain, shareAad(3, 10, 20));
  assert.equal(Array.from((await openGcm(kab, iv, sealed, shareAad(3, 10, 20)))!), Array.from(plain));
  assert.is(await openGcm(kab, iv, sealed, shareAad(4, 10, 20)), null);
  assert.is(await openGcm(kab, iv, sealed, shareAad(3, 20, 10)), null);
  assert.is(await openGcm(await shareKey(a.key, b.publicKey, 4, 10, 20), iv, sealed, shareAad(3, 10, 20)), null);
});

test("the PRG is a function of its seed: same seed, same words (a prefix for a shorter length); another seed differs", async () => {
  const seed = new Uint8Array(32).fill(9);
  const long = await expandSeed(seed, 1000);
  assert.equal(Array.from(await expandSeed(seed, 1000)), Array.from(long));
  assert.equal(Array.from(await expandSeed(seed, 3)), Array.from(long.subarray(0, 3)));
  seed[31] = 8;
  const other = await expandSeed(seed, 1000);
  assert.ok(other.filter((w, i) => w === long[i]).length < 3);
});

test("base64url round-trips any bytes", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
    const text = toBase64Url(b);
    return /^[A-Za-z0-9_-]*$/.test(text) && fromBase64Url(text).every((v, i) => v === b[i]) && fromBase64Url(text).length === b.length;
  }));
});

test.run();
