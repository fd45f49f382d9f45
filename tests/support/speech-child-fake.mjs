// A stand-in for display/audio/speech-child.ts with its protocol, for the speech process's
// failure tests: a sentence with 천삼십오 (ticket 1035) crashes it, one with 멈춤 is never answered,
// one with 느림 is answered after 5 s, anything else is 200 ms of a tone at once.
process.on('message', (req) => {
  if (req.text.includes('천삼십오')) process.exit(3);
  if (req.text.includes('멈춤')) return;
  if (req.text.includes('느림')) {
    setTimeout(() => process.send?.({ id: req.id, ok: true, rate: 22050, samples: new Int16Array(4410) }), 5000);
    return;
  }
  process.send?.({ id: req.id, ok: true, rate: 22050, samples: new Int16Array(4410).fill(1000) });
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
