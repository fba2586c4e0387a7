/** A billion-laughs YAML: nine levels of nine aliases each, a few hundred bytes standing for 9^9 strings. */
export function aliasBomb(): string {
  const names = 'abcdefghi';
  const lines = [`a: &a [${Array(9).fill('"lol lol lol"').join(',')}]`];
  for (let i = 1; i < 9; i++)
    lines.push(
      `${names[i]}: &${names[i]} [${Array(9)
        .fill(`*${names[i - 1]}`)
        .join(',')}]`,
    );
  return lines.join('\n') + '\n';
}
