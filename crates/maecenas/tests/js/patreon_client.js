// Drives the official `patreon` npm package, unmodified, against Maecenas. The package
// reads its host from PATREON_OAUTH_HOST (its own setting), so nothing is patched.
// Input (environment): PATREON_OAUTH_HOST, ACCESS_TOKEN, CAMPAIGN_ID, CLIENT_ID,
// CLIENT_SECRET, CODE, REDIRECT_URI. Output: one JSON document on stdout.
const { patreon, oauth } = require('patreon');

async function main() {
  const client = patreon(process.env.ACCESS_TOKEN);
  const user = await client('/current_user');
  const campaigns = await client('/current_user/campaigns');
  const ids = [];
  let path = `/campaigns/${process.env.CAMPAIGN_ID}/pledges?page%5Bcount%5D=25`;
  while (path) {
    const { rawJson } = await client(path);
    ids.push(...rawJson.data.map((pledge) => pledge.id));
    const next = rawJson.links && rawJson.links.next;
    path = next ? next.replace(/^.*\/api\/oauth2\/api/, '') : null;
  }
  const tokens = await oauth(process.env.CLIENT_ID, process.env.CLIENT_SECRET)
    .getTokens(process.env.CODE, process.env.REDIRECT_URI);
  const refreshed = await oauth(process.env.CLIENT_ID, process.env.CLIENT_SECRET)
    .refreshToken(tokens.refresh_token);
  console.log(JSON.stringify({
    user_id: user.rawJson.data.id,
    campaigns: campaigns.rawJson.data.length,
    pledge_ids: ids,
    tokens,
    refreshed,
  }));
}

main().catch((err) => {
  console.error('failed:', err && (err.error || err), err && err.response && err.response.status);
  process.exit(1);
});
