/**
 * One hash of a viewer canvas for the browser tests, defined once in the page (`window.canvasHash(id)`), so a
 * test can read it and the page can poll it (`waitForFunction`) without fixed sleeps.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;

export interface CanvasHash {
  /** Rolling hash of the RGB values. */
  h: number;
  /** Pixels that are drawn (visible and not black). */
  nonEmpty: number;
  n: number;
}

/** Define `window.canvasHash(id): CanvasHash` in the page (once per page). */
export async function installCanvasHash(page: { evaluate(fn: () => void): Promise<unknown> }): Promise<void> {
  await page.evaluate(() => {
    window.canvasHash = (id: string) => {
      const c = document.getElementById(id);
      const d: Uint8ClampedArray = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let h = 0;
      let nonEmpty = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3]! > 0 && d[i]! + d[i + 1]! + d[i + 2]! > 0) nonEmpty++;
        h = (h * 31 + d[i]! * 7 + d[i + 1]! * 3 + d[i + 2]!) >>> 0;
      }
      return { h, nonEmpty, n: d.length / 4 };
    };
  });
}
