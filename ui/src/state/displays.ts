// Display frames from the websocket's binary messages, routed to panes by header.node, and the pane sizes the
// server draws them at (display.configure, in device pixels).
import type { DisplayHeader } from '@emflow/engine/protocol';
import { shallowReactive } from 'vue';
import { decodeDisplayMessage, type DisplayMessage } from '../api/display-decode';

/** frames an image pane keeps for its scrubber */
const FRAMES_KEPT = 100;

type Configure = (node: string, width: number, height: number) => Promise<unknown>;

export function createDisplays(send: Configure) {
  const frames = shallowReactive(new Map<string, DisplayMessage[]>());
  const sizes = new Map<string, { width: number; height: number }>();
  /** performance.now() when a pane last drew a new frame; null prototype: node ids are user data */
  const lastDisplayAt: Record<string, number> = Object.create(null) as Record<string, number>;
  let live = false;

  /**
   * A binary display message: kept for its pane unless no session is live or `accept` refuses its header (a late
   * frame of a closed session). An image frame with the run and index of one already kept replaces it (the server
   * sends the latest frame again after each display.configure; a pass started over sends the index again).
   */
  function receive(buffer: ArrayBuffer, accept: (header: DisplayHeader) => boolean = () => true) {
    let message: DisplayMessage;
    try {
      message = decodeDisplayMessage(buffer);
    } catch (e) {
      console.warn(`emflow: display message dropped: ${(e as Error).message}`);
      return;
    }
    const { node, run, index } = message.header;
    if (!accept(message.header) || !live) return;
    const before = message.header.kind === 'image' ? (frames.get(node) ?? []).filter((m) => m.header.run !== run || m.header.index !== index) : [];
    frames.set(node, [...before.slice(-(FRAMES_KEPT - 1)), message]);
  }

  const configureOne = (node: string, size: { width: number; height: number }) =>
    // errors (no frame yet, a node the session does not have) change nothing the pane could show
    send(node, size.width, size.height).catch(() => undefined);

  /** A pane's size changed: remembered, and sent when a session is open. */
  function configure(node: string, width: number, height: number) {
    const size = { width: Math.max(1, Math.round(width)), height: Math.max(1, Math.round(height)) };
    const known = sizes.get(node);
    if (known && known.width === size.width && known.height === size.height) return;
    sizes.set(node, size);
    if (live) void configureOne(node, size);
  }

  function forget(node: string) {
    sizes.delete(node);
    frames.delete(node);
  }

  /** A session opened (send every size) or closed. */
  function setLive(open: boolean) {
    live = open;
    if (open) for (const [node, size] of sizes) void configureOne(node, size);
  }

  function drew(node: string) {
    lastDisplayAt[node] = performance.now();
  }

  return { frames, lastDisplayAt, receive, configure, forget, setLive, clear: () => frames.clear(), drew };
}

export type Displays = ReturnType<typeof createDisplays>;
