// Drives minilink's Shlink dialect with the Shlink JS SDK (@shlinkio/shlink-js-sdk):
// create, list, search, read, edit, delete, tags, health, with the SDK's fetch client
// (what browsers, Deno, Bun and Node.js's own fetch use). Its NodeHttpClient sends
// request bodies chunked, without Content-Length, which minilink refuses for every
// route (ADAPTER-EDGES 14): it is used for the calls without a body, and its refused
// create is checked to be a clear 400.
// Run by tests/dialects/test_shlink_sdk.py as
//   node sdk-check.mjs <SDK folder> <base URL> <API key>
// It checks every answer itself (node:assert) and prints one JSON line of what it saw.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [sdkDir, baseUrl, apiKey] = process.argv.slice(2);
const dist = join(sdkDir, "node_modules", "@shlinkio", "shlink-js-sdk", "dist");
const { ShlinkApiClient } = await import(pathToFileURL(join(dist, "index.js")).href);
const { NodeHttpClient } = await import(pathToFileURL(join(dist, "node.js")).href);
const { FetchHttpClient } = await import(pathToFileURL(join(dist, "fetch.js")).href);
const { ErrorType } = await import(pathToFileURL(join(dist, "api-contract.js")).href);

const client = new ShlinkApiClient(new FetchHttpClient(), { baseUrl, apiKey });
const nodeClient = new ShlinkApiClient(new NodeHttpClient(), { baseUrl, apiKey });
const seen = {};

const health = await client.health();
assert.equal(health.status, "pass");
seen.health = health.version;

const made = await client.createShortUrl({
  longUrl: "https://example.com/from-the-sdk",
  customSlug: "sdk",
  tags: ["sdk", "node"],
  title: "From the SDK",
  maxVisits: 10,
});
assert.equal(made.shortCode, "sdk");
assert.equal(made.shortUrl, `${baseUrl}/sdk`);
assert.equal(made.longUrl, "https://example.com/from-the-sdk");
assert.deepEqual(made.tags, ["sdk", "node"]);
assert.equal(made.meta.maxVisits, 10);
assert.deepEqual(made.visitsSummary, { total: 0, nonBots: 0, bots: 0 });
const other = await client.createShortUrl({ longUrl: "https://example.com/other" });
assert.equal(other.shortCode.length, 7);

const listed = await client.listShortUrls({ itemsPerPage: 10, orderBy: { field: "dateCreated", dir: "ASC" } });
assert.deepEqual(listed.data.map((u) => u.shortCode), ["sdk", other.shortCode]);
assert.equal(listed.pagination.totalItems, 2);
const searched = await client.listShortUrls({ searchTerm: "from-the" });
assert.deepEqual(searched.data.map((u) => u.shortCode), ["sdk"]);
const tagged = await client.listShortUrls({ tags: ["node"] });
assert.deepEqual(tagged.data.map((u) => u.shortCode), ["sdk"]);

const read = await client.getShortUrl({ shortCode: "sdk" });
assert.equal(read.title, "From the SDK");
const readByNode = await nodeClient.getShortUrl({ shortCode: "sdk" });
assert.deepEqual(readByNode, read);
assert.equal((await nodeClient.health()).status, "pass");
assert.equal((await nodeClient.listShortUrls()).pagination.totalItems, 2);


const edited = await client.updateShortUrl(
  { shortCode: "sdk" },
  { longUrl: "https://example.com/edited", title: "Edited", tags: ["sdk"], maxVisits: null },
);
assert.equal(edited.longUrl, "https://example.com/edited");
assert.equal(edited.title, "Edited");
assert.deepEqual(edited.tags, ["sdk"]);
assert.equal(edited.meta.maxVisits, null);

const tags = await client.listTags();
assert.deepEqual(tags.data, ["sdk"]);
const stats = await client.tagsStats();
assert.deepEqual(stats.data.map((t) => [t.tag, t.shortUrlsCount]), [["sdk", 1]]);

const visits = await client.getShortUrlVisits({ shortCode: "sdk" });
assert.deepEqual(visits.data, []);

await nodeClient.deleteShortUrl({ shortCode: "sdk" });
await assert.rejects(client.getShortUrl({ shortCode: "sdk" }), (error) => {
  assert.equal(error.type, ErrorType.INVALID_SHORTCODE);
  assert.equal(error.status, 404);
  return true;
});
await assert.rejects(
  client.createShortUrl({ longUrl: "https://example.com/x", customSlug: other.shortCode }),
  (error) => error.type === ErrorType.INVALID_SLUG,
);
await assert.rejects(
  client.createShortUrl({ longUrl: "javascript:alert(1)" }),
  (error) => error.type === ErrorType.INVALID_ARGUMENT && error.invalidElements[0] === "longUrl",
);
const wrongKey = new ShlinkApiClient(new FetchHttpClient(), { baseUrl, apiKey: "wrong" });
await assert.rejects(wrongKey.listShortUrls(), (error) => error.type === ErrorType.INVALID_API_KEY);

const after = await client.listShortUrls();
assert.deepEqual(after.data.map((u) => u.shortCode), [other.shortCode]);
seen.codes = after.data.map((u) => u.shortCode);

// A chunked body: refused clearly (400, naming Content-Length), unless the server
// itself reads it whole and passes its length on, as CGI servers must (RFC 3875 4.2).
try {
  const chunked = await nodeClient.createShortUrl({ longUrl: "https://example.com/chunked" });
  assert.equal(chunked.longUrl, "https://example.com/chunked");
  await nodeClient.deleteShortUrl({ shortCode: chunked.shortCode });
  seen.chunked = "accepted";
} catch (error) {
  if (error instanceof assert.AssertionError) throw error;
  assert.equal(error.status, 400);
  assert.match(error.detail, /Content-Length/);
  seen.chunked = "refused";
}
seen.ok = true;
console.log(JSON.stringify(seen));
