// Receives one episode's stream from the server (server-sent events): its scene once, then batches of
// steps as the engine takes them, then how the episode ended. EventSource reconnects by itself after a
// network hiccup and resumes after the last step it saw (the server tags each batch with that step).

export function openStream(url, { onScene, onSteps, onEnd, onFail }) {
  const source = new EventSource(url);
  source.addEventListener("scene", (e) => onScene(JSON.parse(e.data)));
  source.addEventListener("steps", (e) => onSteps(JSON.parse(e.data).steps));
  source.addEventListener("end", (e) => {
    source.close(); // otherwise EventSource would reconnect when the server closes the stream
    onEnd(JSON.parse(e.data));
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) onFail?.("the live stream closed");
  };
  return () => source.close();
}
