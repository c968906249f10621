// Placeholder until the 'serve' command lands; it fails loudly rather than pretending to work.
export async function run(_argv: string[]): Promise<void> {
  throw new Error("the 'serve' command is not available in this build yet");
}
