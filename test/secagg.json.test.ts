// Messages through JSON text: a whole round where every message crosses as JSON still gives the
// exact sum, and malformed text is refused with the field named before it reaches the server.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SecAggClient } from "../src/federated/secagg/client.js";
import {
  messageToJson,
  parseAdvertiseKeys,
  parseKeyDirectory,
  parseMaskedInput,
  parseShareDelivery,
  parseShareKeys,
  parseUnmaskRequest,
  parseUnmaskResponse,
} from "../src/federated/secagg/json.js";
import { SecAggServer } from "../src/federated/secagg/server.js";
import { plainSum, randomInputs, seededRandom } from "./secagg-harness.js";

const IDS = [2, 5, 6, 9, 12];

test("a round with every message sent as JSON text gives the exact sum", async () => {
  const params = { round: 11, threshold: 3, length: 513 };
  const inputs = randomInputs(IDS, params.length, 4);
  const server = new SecAggServer({ ...params, clients: IDS });
  const clients = IDS.map((id) => new SecAggClient({ ...params, client: id, random: seededRandom(id) }));
  for (const c of clients) server.receiveAdvertise(parseAdvertiseKeys(messageToJson(await c.advertise())));
  const directory = messageToJson(server.closeAdvertise());
  for (const c of clients) server.receiveShares(parseShareKeys(messageToJson(await c.shareKeys(parseKeyDirectory(directory)))));
  const deliveries = server.closeShares();
  const masking = clients.filter((c) => c.client !== 6); // client 6 drops out
  for (const c of masking) {
    const delivery = parseShareDelivery(messageToJson(deliveries.get(c.client)!));
    server.receiveMasked(parseMaskedInput(messageToJson(await c.maskInput(delivery, inputs.get(c.client)!))));
  }
  const request = messageToJson(server.closeMasked());
  for (const c of masking) server.receiveUnmask(parseUnmaskResponse(messageToJson(await c.unmask(parseUnmaskRequest(request)))));
  const result = await server.finish();
  assert.equal(Array.from(result.sum), Array.from(plainSum(inputs, [2, 5, 9, 12])));
  assert.equal(result.dropped, [6]);
});

test("malformed JSON messages are refused with the field named", () => {
  const cases: [() => unknown, RegExp][] = [
    [() => parseAdvertiseKeys("{"), /message is not JSON/],
    [() => parseAdvertiseKeys("[]"), /AdvertiseKeys: expected an object/],
    [() => parseAdvertiseKeys('{"round":1,"client":"3","cPK":"","sPK":""}'), /AdvertiseKeys.client: expected an integer, got "3"/],
    [() => parseAdvertiseKeys('{"round":1,"client":3,"cPK":"a+b/","sPK":""}'), /AdvertiseKeys.cPK: expected a base64url string/],
    [() => parseKeyDirectory('{"round":1,"clients":{}}'), /KeyDirectory.clients: expected an array/],
    [() => parseShareKeys('{"round":1,"client":3,"selfMaskCommitment":"","shares":[{"from":3,"to":4.5,"iv":"","ciphertext":""}]}'), /ShareKeys.shares\[0\].to: expected an integer, got 4.5/],
    [() => parseMaskedInput('{"round":1,"client":3,"masked":"AAAAAAA"}'), /MaskedInput.masked: 5 bytes is not a whole number of u32 values/],
    [() => parseUnmaskResponse('{"round":1,"client":3,"selfMaskShares":[null],"keyShares":[]}'), /UnmaskResponse.selfMaskShares\[0\]: expected an object/],
    [() => parseShareDelivery('{"round":1,"client":3,"participants":[1,"x"],"shares":[]}'), /ShareDelivery.participants\[1\]: expected an integer/],
  ];
  for (const [f, pattern] of cases) {
    let error: unknown;
    try {
      f();
    } catch (e) {
      error = e;
    }
    assert.is((error as { code?: string } | undefined)?.code, "bad-message", `${pattern}: ${String(error)}`);
    assert.match((error as Error).message, pattern);
  }
});

test.run();
