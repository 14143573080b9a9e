// The seed's MyColor: four signed 16-bit channels (red, green, blue, alpha), and its Brighten,
// which adds to every channel, alpha included, saturating at short.MaxValue.
export const COLOR_SIZE = 8; // Marshal.SizeOf(typeof(MyColor))

/** MyColor.Brighten(value) on every color of a window: the loop .NET runs with accessor.Read / Write. */
export function brightenColors(buffer, value) {
  const channels = new Int16Array(buffer, 0, (buffer.byteLength / COLOR_SIZE) * 4);
  for (let i = 0; i < channels.length; i++) channels[i] = Math.min(32767, channels[i] + value);
}
