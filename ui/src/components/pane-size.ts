// A pane's size, followed with a ResizeObserver: CSS pixels for drawing, device pixels for display.configure.
import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue';

export function usePaneSize(target: Ref<HTMLElement | undefined>, onDevicePixels: (width: number, height: number) => void) {
  const width = ref(0);
  const height = ref(0);
  let observer: ResizeObserver | undefined;

  const measure = () => {
    const el = target.value;
    if (!el) return;
    width.value = el.clientWidth;
    height.value = el.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    if (width.value > 0 && height.value > 0) onDevicePixels(width.value * dpr, height.value * dpr);
  };

  onMounted(() => {
    measure();
    if (typeof ResizeObserver !== 'undefined' && target.value) {
      observer = new ResizeObserver(measure);
      observer.observe(target.value);
    }
  });
  onBeforeUnmount(() => observer?.disconnect());

  return { width, height };
}
