// How a real Flume 1.11.0 agent is started, for the interop tests (test/fixtures/flume.ts) and the
// Flume benchmark workloads (scripts/bench/flume.mjs): its log4j2 configuration and its java command.

// log4j2.xml for an agent: INFO to `file`, or to stderr when no file is given; the Avro client's
// Netty transceiver is held at WARN (it logs every connection at INFO).
export const flumeLog4j2 = (file) => {
  const appender = file
    ? `<File name="A" fileName="${file}" immediateFlush="true"><PatternLayout pattern="%d %p [%t] %c - %m%n"/></File>`
    : `<Console name="A" target="SYSTEM_ERR"><PatternLayout pattern="%d %p [%t] %c - %m%n"/></Console>`
  return `<Configuration status="WARN">
 <Appenders>${appender}</Appenders>
 <Loggers><Logger name="org.apache.avro.ipc.netty.NettyTransceiver" level="WARN"/>
 <Root level="INFO"><AppenderRef ref="A"/></Root></Loggers></Configuration>
`
}

// The java arguments of agent `name` with properties file `conf`: jars from `lib`, logging by the
// log4j2.xml at `log4j2`, `jvm` options first (heap and the like).
export const flumeJavaArgs = ({ lib, name, conf, log4j2, jvm = [] }) => [
  ...jvm,
  `-Dlog4j.configurationFile=${log4j2}`,
  '-cp',
  `${lib}/*`,
  'org.apache.flume.node.Application',
  '-n',
  name,
  '-f',
  conf,
  '--no-reload-conf',
]
