// Startup benchmark baseline: same shell and stylesheet as the shop, no SDK.

performance.mark('attune-script-start');
performance.mark('attune-ready');
document.documentElement.dataset.attuneReady = 'true';
