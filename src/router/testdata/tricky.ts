/** Header values that are valid text but hostile to a config file; the renderer must neutralise them. */
export const TRICKY_VALUES: readonly string[] = [
  "a %[src] b",
  '"quoted" value',
  "${HOME} and $HOME",
  "back\\slash",
  "x # not a comment",
  "' single '",
  'foo\\" bar',
];
