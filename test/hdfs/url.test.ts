// hdfs:// URLs (src/hdfs/url.ts), without a server.
import t from 'tap'
import { parseHdfsUrl } from '../../src/hdfs/url.js'

t.test('parseHdfsUrl: the port is the WebHDFS HTTP port, 9870 by default', async (t) => {
  t.same(parseHdfsUrl('hdfs://nn.example:19870/logs/app'), { webhdfsBase: 'http://nn.example:19870', path: '/logs/app' })
  t.same(parseHdfsUrl('hdfs://nn/logs/'), { webhdfsBase: 'http://nn:9870', path: '/logs' })
  t.same(parseHdfsUrl('hdfs://nn'), { webhdfsBase: 'http://nn:9870', path: '/' })
  t.same(parseHdfsUrl('webhdfs://nn:50070//a//./b'), { webhdfsBase: 'http://nn:50070', path: '/a/b' })
  t.same(parseHdfsUrl('swebhdfs://nn/x'), { webhdfsBase: 'https://nn:9871', path: '/x' })
  t.same(parseHdfsUrl('hdfs://etl@nn:9870/a%20b/c'), { webhdfsBase: 'http://nn:9870', path: '/a b/c', user: 'etl' })
  t.same(parseHdfsUrl('hdfs://[::1]:9870/x'), { webhdfsBase: 'http://[::1]:9870', path: '/x' })
  t.throws(() => parseHdfsUrl('/local/dir'), /expected an hdfs:\/\/HOST\[:PORT\]\/PATH URL, got '\/local\/dir'/)
  t.throws(() => parseHdfsUrl('http://nn:9870/x'), /expected an hdfs:\/\//)
  t.throws(() => parseHdfsUrl('hdfs://nn/x?op=OPEN'), /no \?query/)
  t.same(parseHdfsUrl('hdfs://nn/a/../b').path, '/b', 'dot segments are resolved by the URL parser')
})
