import { useSyncExternalStore } from 'react';

/** The two screens the page lays out: stacked panels on a phone, a trading desk otherwise. */
export type Layout = 'phone' | 'desktop';

/** Widest viewport that gets the phone layout; index.html's media queries use the same. */
export const PHONE_MAX_WIDTH = 700;

const query = `(max-width: ${PHONE_MAX_WIDTH}px)`;

/** The layout for the viewport, re-rendering when a resize or rotation crosses the breakpoint. */
export function useLayout(): Layout {
  return useSyncExternalStore(
    (change) => {
      const media = matchMedia(query);
      media.addEventListener('change', change);
      return () => media.removeEventListener('change', change);
    },
    () => (matchMedia(query).matches ? 'phone' : 'desktop'),
  );
}
