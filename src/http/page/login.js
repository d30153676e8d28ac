// The token goes into a cookie for this station only (SameSite=Strict: no other site's
// page can make the browser send it); the daemon takes it like a Bearer token on reads.
'use strict';
if (document.cookie.includes('loaxa_token=')) document.getElementById('wrong').hidden = false;
const form = document.getElementById('login');
form.addEventListener('submit', (e) => {
  e.preventDefault();
  const token = document.getElementById('token').value.trim();
  document.cookie = `loaxa_token=${encodeURIComponent(token)}; path=/; SameSite=Strict; max-age=2592000`;
  location.reload();
});
form.dataset.ready = '1';
