import t from 'tap'
import { TsfError, UsageError } from '../../src/core/errors.js'

t.test('a message quoting line breaks stays one line: they are shown escaped', async (t) => {
  t.equal(new TsfError("got 'a\nb\r\nc'").message, "got 'a\\nb\\r\\nc'")
  t.equal(new UsageError('x\u2028y\u2029z').message, 'x\\u2028y\\u2029z', 'JavaScript line separators too')
  t.equal(new UsageError('plain').exitCode, 2)
  t.equal(new TsfError('tab\tand é stay').message, 'tab\tand é stay')
})
