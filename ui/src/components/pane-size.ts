// A pane's size, followed with a ResizeObserver: CSS pixels for drawing (at once), device pixels for
// display.configure (debounced: each configure makes the server send the latest frame again, and a pane with
// CSS resize reports every pixel dragged).
import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue';

/** display.configure waits this long after the last resize */
export const CONFIGURE_DELAY_MS = 150;
/** and is sent only when the size moved by more than this many device pixels from the last one sent */
export const CONFIGURE_SLACK_PX = 4;

/**
 * Device-pixel sizes passed on to `send`: the first at once, later ones `delay` ms after the last change, and only
 * when the width or height differs by more than `slack` from the size last sent.
 */
export function debouncedSize(send: (width: number, height: number) => void, delay = CONFIGURE_DELAY_MS, slack = CONFIGURE_SLACK_PX) {
  let sent: { width: number; height: number } | undefined;
  let pending: { width: number; height: number } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const flush = () => {
    timer = undefined;
    const size = pending;
    pending = undefined;
    if (!size) return;
    if (sent && Math.abs(size.width - sent.width) <= slack && Math.abs(size.height - sent.height) <= slack) return;
    sent = size;
    send(size.width, size.height);
  };

  return {
    update(width: number, height: number) {
      pending = { width, height };
      if (!sent) {
        flush();
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(flush, delay);
    },
    cancel() {
      clearTimeout(timer);
      timer = undefined;
      pending = undefined;
    },
  };
}

export function usePaneSize(target: Ref<HTMLElement | undefined>, onDevicePixels: (width: number, height: number) => void) {
  const width = ref(0);
  const height = ref(0);
  const device = debouncedSize(onDevicePixels);
  let observer: ResizeObserver | undefined;

  const measure = () => {
    const el = target.value;
    if (!el) return;
    width.value = el.clientWidth;
    height.value = el.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    if (width.value > 0 && height.value > 0) device.update(width.value * dpr, height.value * dpr);
  };

  onMounted(() => {
    measure();
    if (typeof ResizeObserver !== 'undefined' && target.value) {
      observer = new ResizeObserver(measure);
      observer.observe(target.value);
    }
  });
  onBeforeUnmount(() => {
    observer?.disconnect();
    device.cancel();
  });

  return { width, height };
}
