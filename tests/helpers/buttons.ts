// Dispenser buttons a test presses by hand: the ButtonSource the dispenser starts, and press().
import type { ButtonPress, ButtonSource } from '../../device/ports/buttons.ts';

export function handButtons(): { buttons: ButtonSource; press: (button: string) => void } {
  let onPress: (p: ButtonPress) => void = () => {};
  const buttons = {
    kind: 'test',
    start: async (cb: (p: ButtonPress) => void) => {
      onPress = cb;
    },
    stop: async () => {},
  } as unknown as ButtonSource;
  return { buttons, press: (button) => onPress({ button, at: new Date().toISOString() } as ButtonPress) };
}
